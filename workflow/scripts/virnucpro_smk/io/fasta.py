"""Reading and validating nucleotide FASTA input (plain or gzip), and writing FASTA.

Input from users is messy: gzip without a ``.gz`` suffix, Windows line endings, soft-masked
lowercase, IUPAC ambiguity codes, protein files handed over by mistake, duplicate ids.
Everything here turns such cases into either a normalised record or an :class:`InputError`
whose message names the file and the record, never a traceback from deep inside a parser.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from Bio.SeqIO.FastaIO import SimpleFastaParser

from ..errors import InputError

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
#: IUPAC nucleotide codes accepted in input (after upper-casing; U is read as T).
IUPAC_NUCLEOTIDES = frozenset("ACGTRYSWKMBDHVN")
_INVALID_NUCLEOTIDE = re.compile(r"[^ACGTRYSWKMBDHVN]")
#: Letters that occur in proteins but are not nucleotide codes: their presence means the user
#: most likely gave a protein FASTA where DNA was expected.
_PROTEIN_ONLY = frozenset("EFILPQ*")
#: Characters that break TSV columns, file paths or shell quoting when they appear in an id.
_AWKWARD_ID = re.compile(r"[/\\\"'`$;,\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One validated nucleotide record: ``id`` is the header up to the first whitespace."""

    id: str
    seq: str


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name says."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a plain or gzip-compressed text file (detected by content, not by suffix)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a FASTA file")
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline=None)
    return open(path, encoding="utf-8", newline=None)


def _checked_lines(handle: IO[str], path: Path) -> Iterator[str]:
    """Yield the lines of ``handle``, turning decoding and gzip faults into InputError.

    Also insists that the first non-blank line is a FASTA header: Biopython silently skips
    anything before the first '>', which would hide a wrong file type.
    """
    seen_header = False
    try:
        for number, line in enumerate(handle, start=1):
            if not seen_header:
                if not line.strip():
                    continue
                if not line.startswith(">"):
                    raise InputError(
                        f"{path}: line {number} does not start a FASTA record ('>' expected), "
                        f"found {line[:40].rstrip()!r}; is this a FASTA file?"
                    )
                seen_header = True
            yield line
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not a text FASTA file (undecodable bytes: {exc.reason})"
        ) from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: corrupt or truncated gzip file ({exc})") from exc


def _describe_invalid(seq: str) -> str:
    bad = sorted(set(_INVALID_NUCLEOTIDE.findall(seq)))
    shown = "".join(bad[:12])
    if len(set(bad) & _PROTEIN_ONLY) >= 2 or (set(bad) <= _PROTEIN_ONLY and bad):
        return (
            f"characters {shown!r} are not IUPAC nucleotide codes "
            "(this looks like a protein sequence)"
        )
    return f"characters {shown!r} are not IUPAC nucleotide codes"


def read_nucleotide_fasta(path: str | os.PathLike[str]) -> Iterator[FastaRecord]:
    """Stream validated, upper-cased records of a nucleotide FASTA file.

    Raises :class:`InputError` for a missing, empty or non-FASTA file, a header without an
    id, a record without sequence, characters outside the IUPAC nucleotide codes and
    duplicate ids. RNA ``U`` is read as ``T``. Ids that would break TSV columns or paths are
    reported as warnings (they are kept: the outputs quote nothing, so the user decides).
    """
    path = Path(path)
    seen: set[str] = set()
    count = 0
    with open_text(path) as handle:
        for title, raw_seq in SimpleFastaParser(_checked_lines(handle, path)):
            count += 1
            parts = title.split(None, 1)
            if not parts:
                raise InputError(f"{path}: record {count} has an empty header (no id after '>')")
            record_id = parts[0]
            if record_id in seen:
                raise InputError(
                    f"{path}: duplicate id {record_id!r} (record {count}); ids must be unique"
                )
            seen.add(record_id)
            if _AWKWARD_ID.search(record_id):
                log.warning(
                    "%s: id %r contains characters that may break paths or TSV tools",
                    path,
                    record_id,
                )
            seq = raw_seq.replace(" ", "").replace("\t", "").upper().replace("U", "T")
            if not seq:
                raise InputError(f"{path}: record {record_id!r} has no sequence")
            if _INVALID_NUCLEOTIDE.search(seq):
                raise InputError(f"{path}: record {record_id!r}: {_describe_invalid(seq)}")
            yield FastaRecord(record_id, seq)
    if count == 0:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty")
        raise InputError(f"{path}: no FASTA records found")


def wrap(seq: str, width: int = 60) -> str:
    """Wrap a sequence at ``width`` columns, as Biopython's FASTA writer does."""
    return "\n".join(seq[i : i + width] for i in range(0, len(seq), width))


def format_record(record_id: str, seq: str, width: int | None = None) -> str:
    """One FASTA record as text, on one line or wrapped at ``width``."""
    body = seq if width is None else wrap(seq, width)
    return f">{record_id}\n{body}\n"


def read_simple_fasta(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read (id, sequence) pairs of a FASTA file written by this package (no validation)."""
    with open_text(path) as handle:
        return [(title.split(None, 1)[0], seq) for title, seq in SimpleFastaParser(handle)]


def binary_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Raw lines of a plain or gzip file (by content), for cheap scans at DAG-build time.

    Faults a user can cause (missing file, a directory, a truncated or corrupt gzip) become
    an :class:`InputError` naming the file, so Snakemake can report them in one line.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a FASTA file")
    try:
        with (gzip.open if is_gzip(path) else open)(path, "rb") as handle:
            yield from handle
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: corrupt or truncated gzip file ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def scan_lengths(path: str | os.PathLike[str]) -> list[int]:
    """Sequence lengths of a FASTA file, fast and without validation.

    Used at DAG-build time to decide how many shards a sample needs, so it must be cheap:
    it counts bytes per record and ignores content (validation happens in the job). A
    truncated gzip or a missing file raises :class:`InputError` naming the file.
    """
    lengths: list[int] = []
    current = -1
    for line in binary_lines(path):
        if line.startswith(b">"):
            if current >= 0:
                lengths.append(current)
            current = 0
        elif current >= 0:
            current += len(line.strip())
    if current >= 0:
        lengths.append(current)
    return lengths
