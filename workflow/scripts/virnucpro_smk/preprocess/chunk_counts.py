"""Chunk counts of input files, cached so that DAG building does not rescan big inputs.

Every Snakemake invocation (a dry-run, a resume, `--report`) builds the DAG, and the number
of GPU jobs of a sample comes from its chunk count. Scanning a 300 Mbp input costs seconds to
tens of seconds; the count only changes when the file does. Counts are cached per input file,
keyed on its resolved path, size and modification time (nanoseconds): touch or rewrite the
file and it is rescanned.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from ..io.atomic import write_text_atomic
from ..io.fasta import record_lengths
from .chunking import chunk_count


def count_chunks(fasta: str | os.PathLike[str], chunk_length: int) -> int:
    """Chunks an input yields, from its sequence lengths alone (cheap; no validation).

    The file is read in blocks and the lengths summed as they come: memory holds neither a
    record (a chromosome on one line) nor a list of lengths (a read set)."""
    return sum(chunk_count(n, chunk_length) for n in record_lengths(fasta))


def _entry_path(cache_dir: Path, source: Path) -> Path:
    key = hashlib.sha1(str(source).encode()).hexdigest()[:20]
    return cache_dir / f"{key}.json"


def cached_count(
    path: str | os.PathLike[str],
    chunk_length: int,
    counter: Callable[[str, int], int],
    cache_dir: str | os.PathLike[str],
) -> int:
    """``counter(path, chunk_length)``, reused while the file's size and mtime are unchanged."""
    source = Path(path).resolve()
    stat = source.stat()
    stamp = {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    entry = _entry_path(Path(cache_dir), source)
    cached: dict = {}
    try:
        cached = json.loads(entry.read_text())
    except (OSError, ValueError):
        cached = {}
    if {k: cached.get(k) for k in stamp} != stamp:
        cached = {**stamp, "chunks": {}}
    key = str(chunk_length)
    if key not in cached["chunks"]:
        cached["chunks"][key] = counter(str(source), chunk_length)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(entry, json.dumps(cached, indent=1) + "\n")
        except OSError:
            pass  # a read-only working directory only costs a rescan next time
    return int(cached["chunks"][key])
