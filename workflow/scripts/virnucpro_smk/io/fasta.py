"""Reading and validating nucleotide FASTA input (plain or gzip), and writing FASTA.

Input from users is messy: gzip without a ``.gz`` suffix, Windows line endings, soft-masked
lowercase, IUPAC ambiguity codes, protein files handed over by mistake, duplicate ids.
Everything here turns such cases into either a normalised record or an :class:`InputError`
whose message names the file and the record, never a traceback from deep inside a parser.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from Bio.SeqIO.FastaIO import SimpleFastaParser

from ..errors import InputError
from .compressed import open_input, reading

log = logging.getLogger(__name__)

#: IUPAC nucleotide codes accepted in input (after upper-casing; U is read as T).
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


def fasta_id(title: str) -> str:
    """The id of a FASTA header (text after '>'): its first word, or "" when there is none."""
    words = title.split(None, 1)
    return words[0] if words else ""


def record_offsets(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """``(byte offset, id)`` of each record of a FASTA file that this package wrote.

    Those files (chunks, frames, training shards) hold one header line and one sequence
    line per record, which is what lets a job seek straight to its shard's byte range.
    """
    offset = 0
    with open(path, "rb") as handle:
        for header in handle:
            yield offset, fasta_id(header[1:].decode())
            offset += len(header) + len(handle.readline())


def _checked_lines(handle: IO[str], path: Path) -> Iterator[str]:
    """Yield the lines of ``handle``, turning decoding and gzip faults into InputError.

    Also insists that the first non-blank line is a FASTA header: Biopython silently skips
    anything before the first '>', which would hide a wrong file type.
    """
    seen_header = False
    try:
        with reading(path):
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
    count = awkward = 0
    with open_input(path, text=True) as handle:
        for title, raw_seq in SimpleFastaParser(_checked_lines(handle, path)):
            count += 1
            record_id = fasta_id(title)
            if not record_id:
                raise InputError(f"{path}: record {count} has an empty header (no id after '>')")
            if record_id in seen:
                raise InputError(
                    f"{path}: duplicate id {record_id!r} (record {count}); ids must be unique"
                )
            seen.add(record_id)
            if _AWKWARD_ID.search(record_id):
                awkward += 1
                if awkward == 1:  # one line per file, not one per record: a count at the end
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
    if awkward > 1:
        log.warning(
            "%s: %d of %d ids contain characters that may break paths or TSV tools "
            "(the first is shown above)",
            path,
            awkward,
            count,
        )
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
    with open_input(path, text=True) as handle:
        return [(fasta_id(title), seq) for title, seq in SimpleFastaParser(handle)]


def scan_lengths(path: str | os.PathLike[str]) -> list[int]:
    """Sequence lengths of a FASTA file, fast and without validation.

    Used at DAG-build time to decide how many shards a sample needs, so it must be cheap:
    it counts bytes per record and ignores content (validation happens in the job). A
    truncated gzip or a missing file raises :class:`InputError` naming the file.
    """
    lengths: list[int] = []
    current = -1
    try:
        with open_input(path) as handle, reading(path):
            for line in handle:
                if line.startswith(b">"):
                    if current >= 0:
                        lengths.append(current)
                    current = 0
                elif current >= 0:
                    current += len(line.strip())
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if current >= 0:
        lengths.append(current)
    return lengths
