"""Reading and validating nucleotide FASTA input (plain or gzip), and writing FASTA.

Input from users is messy: gzip without a ``.gz`` suffix, Windows line endings, soft-masked
lowercase, IUPAC ambiguity codes, protein files handed over by mistake, duplicate ids.
Everything here turns such cases into either a normalised record or an :class:`InputError`
whose message names the file and the record, never a traceback from deep inside a parser.

Files are read in blocks of :data:`BLOCK_BYTES`, never line by line: a chromosome written on
one line is a 300-MB line, and a binary file handed over by mistake may hold no line break at
all. :func:`stream_nucleotide_fasta` gives each record's sequence as pieces of at most a
block, so a caller that walks along a record (preprocessing) holds a block, not the record.
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


#: Bytes read at a time; a record's sequence comes in pieces of at most this size.
BLOCK_BYTES = 1 << 20
#: A header line longer than this is not a FASTA header (a binary file starting with '>').
MAX_HEADER_BYTES = 1 << 20
#: Bytes dropped from sequence lines: line breaks (``\n``, ``\r\n`` or ``\r``), spaces, tabs.
_SEQ_WHITESPACE = b" \t\r\n\x0b\x0c"
#: Upper-case, and ``U`` read as ``T`` (RNA), in one table.
_NORMALISE = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyzU", b"ABCDEFGHIJKLMNOPQRSTTVWXYZT")
_IUPAC = b"ACGTRYSWKMBDHVN"
_LINE_END = re.compile(rb"[\r\n]")
_NON_BLANK = re.compile(rb"[^ \t\r\n\x0b\x0c]")
_GT = ord(">")


def _undecodable(path: Path, exc: UnicodeDecodeError) -> InputError:
    return InputError(f"{path}: not a text FASTA file (undecodable bytes: {exc.reason})")


def _blocks(handle: IO[bytes], path: Path) -> Iterator[bytes]:
    with reading(path):
        while block := handle.read(BLOCK_BYTES):
            yield block


def fasta_pieces(path: str | os.PathLike[str]) -> Iterator[bytes | tuple[bytes]]:
    """The raw parts of a FASTA file, read block by block: ``(header,)`` (the header line's
    bytes after '>') and ``bytes`` (a piece of sequence lines, line breaks included).

    Memory is a block and one header, whatever the lines' length. Refuses, as one
    :class:`InputError`, a missing file, a truncated gzip stream, a first non-blank line that
    is not a header (Biopython skips such text silently, which would hide a wrong file type)
    and a header line over :data:`MAX_HEADER_BYTES`.
    """
    path = Path(path)
    try:
        with open_input(path) as handle:
            yield from _pieces(_blocks(handle, path), path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _first_line_error(path: Path, line_number: int, line: bytes) -> InputError:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _undecodable(path, exc)
    return InputError(
        f"{path}: line {line_number} does not start a FASTA record ('>' expected), "
        f"found {text[:40].rstrip()!r}; is this a FASTA file?"
    )


def _pieces(blocks: Iterator[bytes], path: Path) -> Iterator[bytes | tuple[bytes]]:
    """:func:`fasta_pieces` on blocks: a header starts with '>' at a line start (after
    ``\n``, ``\r\n`` or ``\r``, as universal newlines read it); everything else after the
    first header is sequence, handed on in pieces that end at a block's end or a header."""
    header: bytearray | None = None  # inside a header line
    started = False  # a header has been seen
    line_start = True  # the next byte starts a line
    line_number, last_cr = 1, False  # lines before the first header (for the message)
    for block in blocks:
        i, n = 0, len(block)
        while i < n:
            if header is not None:
                found = _LINE_END.search(block, i)
                end = n if found is None else found.start()
                header += block[i:end]
                if len(header) > MAX_HEADER_BYTES:
                    raise InputError(
                        f"{path}: a header line is over {MAX_HEADER_BYTES} bytes; is this a "
                        "FASTA file?"
                    )
                if found is None:
                    break
                yield (bytes(header),)
                header, i, line_start = None, end, True
            elif started:
                if line_start and block[i] == _GT:
                    header, i = bytearray(), i + 1
                    continue
                # the next '>' that starts a line ('>' is rare: memchr, not a regex)
                end = block.find(b">", i + 1)
                while end > 0 and block[end - 1] not in b"\r\n":
                    end = block.find(b">", end + 1)
                end = n if end < 0 else end
                yield block[i:end]
                i, line_start = end, block[end - 1] in b"\r\n"
            else:  # before the first header: blank lines only
                found = _NON_BLANK.search(block, i)
                j = n if found is None else found.start()
                gap = block[i:j]
                if gap:
                    breaks = gap.count(b"\n") + gap.count(b"\r") - gap.count(b"\r\n")
                    line_number += breaks - (last_cr and gap[0] == 0x0A)
                    line_start, last_cr = gap[-1] in b"\r\n", gap[-1] == 0x0D
                if found is None:
                    break
                if block[j] != _GT or not line_start:
                    lo = max(block.rfind(b"\n", 0, j), block.rfind(b"\r", 0, j)) + 1
                    eol = _LINE_END.search(block, j)
                    line = block[lo : n if eol is None else eol.start()]
                    raise _first_line_error(path, line_number, line)
                started, header, i = True, bytearray(), j + 1
    if header is not None:
        yield (bytes(header),)


@dataclass(frozen=True, slots=True)
class FastaStream:
    """One record of :func:`stream_nucleotide_fasta`: its id and its sequence in pieces."""

    id: str
    pieces: Iterator[bytes]  # upper-case ASCII IUPAC codes, U as T; consume before the next


def _describe_invalid(seq: str) -> str:
    bad = sorted(set(_INVALID_NUCLEOTIDE.findall(seq)))
    shown = "".join(bad[:12])
    if len(set(bad) & _PROTEIN_ONLY) >= 2 or (set(bad) <= _PROTEIN_ONLY and bad):
        return (
            f"characters {shown!r} are not IUPAC nucleotide codes "
            "(this looks like a protein sequence)"
        )
    return f"characters {shown!r} are not IUPAC nucleotide codes"


def _invalid_message(path: Path, record_id: str, raw: bytes) -> InputError:
    """The one line for a sequence piece holding non-IUPAC bytes (protein hint included)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # not a character cut at the block's end
            return _undecodable(path, exc)
        text = raw[: exc.start].decode("utf-8")
    seq = re.sub(r"\s", "", text).upper().replace("U", "T")
    return InputError(f"{path}: record {record_id!r}: {_describe_invalid(seq)}")


def stream_nucleotide_fasta(path: str | os.PathLike[str]) -> Iterator[FastaStream]:
    """Stream validated records of a nucleotide FASTA file, each sequence in pieces.

    Raises :class:`InputError` for a missing, empty or non-FASTA file, a header without an
    id, a record without sequence, characters outside the IUPAC nucleotide codes and
    duplicate ids. Line breaks, spaces and tabs inside a sequence are dropped, lowercase is
    upper-cased and RNA ``U`` read as ``T``. Ids that would break TSV columns or paths are
    reported as warnings (they are kept: the outputs quote nothing, so the user decides).
    Memory: a block and the set of ids seen. A record the caller leaves unread is still read
    (and checked) before the next one.
    """
    path = Path(path)
    seen: set[str] = set()
    count = awkward = 0
    parts = fasta_pieces(path)
    header = next(parts, None)

    def sequence(record_id: str) -> Iterator[bytes]:
        nonlocal header
        length = 0
        for part in parts:
            if isinstance(part, tuple):
                header = part
                break
            seq = part.translate(_NORMALISE, _SEQ_WHITESPACE)
            if seq.translate(None, _IUPAC):  # anything left is no nucleotide code
                raise _invalid_message(path, record_id, part)
            if seq:
                length += len(seq)
                yield seq
        if not length:
            raise InputError(f"{path}: record {record_id!r} has no sequence")

    while isinstance(header, tuple):
        count += 1
        try:
            title = header[0].decode("utf-8").rstrip()
        except UnicodeDecodeError as exc:
            raise _undecodable(path, exc) from None
        header = None
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
        pieces = sequence(record_id)
        yield FastaStream(record_id, pieces)
        for _ in pieces:
            pass
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


def read_nucleotide_fasta(path: str | os.PathLike[str]) -> Iterator[FastaRecord]:
    """Stream validated, upper-cased records of a nucleotide FASTA file, each held whole.

    The checks of :func:`stream_nucleotide_fasta`; for callers that need a record's sequence
    at once (writing it out, cutting fragments).
    """
    for record in stream_nucleotide_fasta(path):
        yield FastaRecord(record.id, b"".join(record.pieces).decode("ascii"))


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


def record_lengths(path: str | os.PathLike[str]) -> Iterator[int]:
    """Sequence length of each record of a FASTA file, fast and without validating the bases.

    It counts the sequence bytes of each record (line breaks, spaces and tabs excluded, as the
    reader drops them) block by block, holding a block, never a record: exact for every file
    :func:`stream_nucleotide_fasta` accepts. A truncated gzip, a missing file, one that does
    not start with a FASTA header or whose header is not text raises :class:`InputError`
    naming the file, at once.
    """
    length = -1
    for part in fasta_pieces(path):
        if isinstance(part, tuple):
            if length >= 0:
                yield length
            length = 0
            try:  # cheap, and a binary file that starts with '>' fails here, not in a job
                part[0].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _undecodable(Path(path), exc) from None
        else:
            length += len(part.translate(None, _SEQ_WHITESPACE))
    if length >= 0:
        yield length
