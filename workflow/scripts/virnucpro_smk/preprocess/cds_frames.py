"""Training-data builder: the original's training-mode frame selection from RefSeq files.

For each genome record (streamed from ``*.genomic.gbff(.gz)``, optionally with its
``*.genomic.fna(.gz)``, never decompressed to disk nor read whole), chunks containing an
ambiguous base (``N R Y M K S W H B V D``) are dropped, and a stop-free frame is kept only
when its translation occurs inside an annotated CDS ``/translation`` of the same record.
Outputs are byte-identical to the original's (tests/test_cds_frames.py).

Why it is several times faster than the original script (benchmarks/bench_builder.py):

* a light GenBank reader takes only what the selection needs (record id, CDS
  ``/translation``, ORIGIN) instead of Biopython's full parse with feature locations; it
  follows Biopython's rules for ids and qualifier continuation lines, and a test compares both
  readers record by record;
* the substring test uses a sampled k-mer index (:class:`ProteinIndex`) that is cheap to
  build and answers each query with a few dictionary look-ups, instead of scanning every
  protein of the record for every frame;
* with ``threads > 1``, records of one file are processed in a process pool while the parent
  streams the input and writes results in input order (a bounded window keeps memory flat).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise, zip_longest
from pathlib import Path
from typing import IO

from ..errors import InputError
from ..formats.frame_index import FRAME_INDEX
from ..formats.sequences import SEQUENCES, SequenceRow
from ..io.atomic import atomic_open
from ..io.compressed import open_input, reading
from ..io.fasta import fasta_id, wrap
from ..runtime.progress import Progress
from .frames import translate_record
from .genomes import write_genome_map
from .sample import PreprocessStats
from .shards import index_shards

log = logging.getLogger(__name__)

AMBIGUOUS = re.compile(r"[NRYMKSWHBVD]")

# Biopython's GenBank layout constants: qualifiers start at column 21, header values at 12.
_QUALIFIER_INDENT = 21
_HEADER_SPACER = " " * 12
_NOT_SEQUENCE = b"0123456789 \t\r\n"


class ProteinIndex:
    """Exact substring queries against a record's CDS translations, via sampled k-mers.

    Only the k-mers starting at every ``step``-th position of the joined proteins are indexed,
    which makes building ``step`` times cheaper than a full k-mer index. It is still exact:
    an occurrence of a query of length ``>= k + step - 1`` at offset ``o`` covers the sampled
    position ``p`` (the first multiple of ``step`` at or after ``o``) with the whole k-mer at
    ``p``, so one of the query's first ``step`` k-mers finds ``p`` and a direct comparison
    confirms it. Shorter queries fall back to a plain substring scan.
    """

    def __init__(self, proteins: list[str], k: int = 8, step: int = 16) -> None:
        self.k = k
        self.step = step
        # A newline never occurs in a query, so no match can straddle two proteins.
        self.joined = "\n".join(p for p in proteins if p)
        self._min_indexed = k + step - 1
        index: dict[str, int | list[int]] = {}
        joined = self.joined
        for pos in range(0, len(joined) - k + 1, step):
            kmer = joined[pos : pos + k]
            seen = index.get(kmer)
            if seen is None:
                index[kmer] = pos
            elif isinstance(seen, int):
                index[kmer] = [seen, pos]
            else:
                seen.append(pos)
        self._index = index

    def contains(self, query: str) -> bool:
        """True when ``query`` is a substring of at least one protein."""
        if len(query) < self._min_indexed:
            return bool(query) and query in self.joined
        index, joined, k = self._index, self.joined, self.k
        for shift in range(self.step):
            hits = index.get(query[shift : shift + k])
            if hits is None:
                continue
            for pos in (hits,) if isinstance(hits, int) else hits:
                if pos >= shift and joined.startswith(query, pos - shift):
                    return True
        return False


@dataclass(frozen=True, slots=True)
class GenBankRecord:
    """What training needs from a GenBank record: id, upper-case sequence, CDS translations,
    the assembly it belongs to (``DBLINK  Assembly:``; "" when the record names none), its
    taxon (:func:`lineage_taxon` of the ``ORGANISM`` lineage; "" without one) and its NCBI
    taxonomy id (:func:`source_taxid`; "" without one)."""

    id: str
    seq: str
    translations: list[str]
    assembly: str = ""
    taxon: str = ""
    taxid: str = ""


def _split_records(
    handle: IO[bytes], marker: bytes, read_size: int = 1 << 20, preamble: bool = True
) -> Iterator[bytes]:
    """Blocks of a byte stream, each from a line starting with ``marker`` to the next one.

    Reads large pieces and splits with ``bytes.find`` (C speed; line-by-line reading of a gzip
    stream cost more than the rest of the parse). Text before the first marker line is
    skipped (Biopython's GenBank parser does so) or, with ``preamble=False``, refused unless
    blank (its FASTA parser does so).
    """
    sep = b"\n" + marker
    buf = b"\n"  # buf[0] is the newline before the current record (or a virtual one)
    started = False
    scan_from = 0
    while True:
        piece = handle.read(read_size)
        buf += piece
        while True:
            at = buf.find(sep, scan_from)
            if at < 0:
                break
            if started:
                yield buf[1 : at + 1]
            elif not preamble and buf[:at].strip():
                raise InputError(f"text before the first {marker.decode()!r} line")
            started = True
            buf = buf[at:]
            scan_from = 1
        if not piece:
            if started and len(buf) > 1:
                yield buf[1:]
            return
        if not started:
            cut = buf.rfind(b"\n")
            if not preamble and buf[:cut].strip():
                raise InputError(f"text before the first {marker.decode()!r} line")
            buf = buf[cut:]  # keep only the unfinished last line
            scan_from = 0
        else:
            scan_from = max(1, len(buf) - len(sep))


def iter_genbank_blocks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Raw text of each record (``LOCUS`` line to ``//`` line), streamed."""
    with open_input(path) as handle, reading(path):
        for block in _split_records(handle, b"LOCUS"):
            end = block.rfind(b"\n//")
            line_end = block.find(b"\n", end + 1)
            if end < 0 or block[end + 3 : None if line_end < 0 else line_end].strip():
                first = block.split(b"\n", 1)[0].decode("latin-1").strip()
                raise InputError(
                    f"{path}: record {first!r} has no closing '//' line (truncated file?)"
                )
            yield block[: end + 4]


class _RecordId:
    """Biopython's rules for a GenBank record id: first accession + VERSION suffix, else LOCUS."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.name = ""
        self.accessions: list[str] = []
        self.version: int | None = None

    def accession(self, content: str) -> None:
        for acc in content.replace(";", " ").split():
            if acc not in self.accessions:
                self.accessions.append(acc)
        if not self.id and self.accessions:
            self.id = self.accessions[0]

    def version_line(self, data: str) -> None:
        data = data.strip()
        while "  " in data:
            data = data.replace("  ", " ")
        data = data.split(" GI:")[0]
        head, dot, tail = data.partition(".")
        if dot and "." not in tail and tail.isdigit():
            self.accession(head)
            self.version = int(tail)
        elif data:
            self.id = data

    def final(self, where: str) -> str:
        if not self.id:
            if self.accessions:
                raise InputError(f"{where}: cannot make an id from {self.accessions}")
            return self.name
        if "." not in self.id and self.version is not None:
            return f"{self.id}.{self.version}"
        return self.id


def _qualifier_translation(lines: list[str], where: str) -> str | None:
    """The first /translation of one feature's stripped lines, as Biopython reads it."""
    lines = [line for line in lines if line]
    if not lines:
        return None
    it = iter(lines)
    location = next(it)
    while location[-1:] == ",":
        location += next(it, "").strip()
    while location[-1:] == "," or location.count("(") > location.count(")"):
        extra = next(it, None)
        if extra is None:
            break
        location += extra.strip()
    value: str | None = None  # the first /translation; later ones are ignored, as by .get()
    appending = False  # an unquoted continuation line extends the previous qualifier
    for number, line in enumerate(it):
        if number == 0 and line.startswith(")"):
            continue  # the location's closing parenthesis wrapped onto its own line
        if line[0] != "/":
            if appending and value is not None:
                value += "\n" + line
            continue
        eq = line.find("=")
        if eq == -1:
            key, text = line[1:], None
        else:
            key, text = line[1:eq], line[eq + 1 :]
            if eq and text.startswith(" ") and text.lstrip().startswith('"'):
                text = text.lstrip()
            if text and text != '"' and text[0] == '"':
                parts = [text]
                while parts[-1][-1] != '"':
                    nxt = next(it, None)
                    if nxt is None:
                        raise InputError(f"{where}: unterminated quoted /{key} qualifier")
                    parts.append(nxt)
                text = "\n".join(parts)
        appending = key == "translation" and value is None
        if appending:
            value = text if text is not None else ""
    if value is None:
        return None
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
    return "".join(value.replace('""', '"').split())


# A newline before a line that ends the current feature: neither a qualifier continuation
# (21 spaces) nor blank. Patterns start with a literal newline, which the regex engine finds
# by fast search (a multi-line ``^`` pattern is tried at every character: 5x slower).
_FEATURE_BOUNDARY = re.compile(r"\n(?! {21})(?=[^\n]*\S)")
# The newline before the first line with text in column 0 (ORIGIN, CONTIG, BASE COUNT).
_TOP_LEVEL = re.compile(r"\n(?=\S)")


def _features_translations(table: str, where: str) -> list[str]:
    """CDS translations of a feature table (the newline ending ``FEATURES`` onwards), in order.

    Boundaries are found by regex and only CDS features are read line by line; the line rules
    are Biopython's: a key line has text in columns 2-20 and is at least 21 characters long,
    anything else that is neither blank nor indented by 21 ends the feature and is skipped.
    """
    translations: list[str] = []
    starts = [m.start() + 1 for m in _FEATURE_BOUNDARY.finditer(table)]
    starts.append(len(table))
    for begin, end in pairwise(starts):
        line_end = table.find("\n", begin, end)
        line = table[begin : end if line_end < 0 else line_end].rstrip()
        if len(line) < _QUALIFIER_INDENT or not line[2:_QUALIFIER_INDENT].strip():
            continue
        if line[_QUALIFIER_INDENT] != " " and " " in line[_QUALIFIER_INDENT:]:
            key, first = line[2:].strip().split(None, 1)  # over-indented long key
        else:
            key, first = line[2:_QUALIFIER_INDENT].strip(), line[_QUALIFIER_INDENT:]
        if key != "CDS":
            continue
        body = [first.strip()]
        if line_end >= 0:
            body += [
                row[_QUALIFIER_INDENT:].strip() for row in table[line_end + 1 : end].split("\n")
            ]
        translations.append(_qualifier_translation(body, where) or "")
    return translations


def _dblink_assembly(lines: list[str]) -> str:
    """The ``Assembly:`` accession of a DBLINK block (its first line and continuations).

    RefSeq gives every record of one assembly (chromosomes, plasmids, the segments of a
    segmented virus, the scaffolds of a draft genome) the same ``Assembly: GCF_...`` link: the
    one genome-level key a GenBank file carries. BioProject is not used: RefSeq's umbrella
    project (PRJNA224116) links thousands of unrelated bacterial genomes.
    """
    body = [lines[0][12:]]
    for more in lines[1:]:
        if not more.startswith(_HEADER_SPACER):
            break
        body.append(more[12:])
    for entry in body:
        key, colon, value = entry.partition(":")
        if colon and key.strip() == "Assembly" and value.split():
            return value.split(",")[0].split()[0]
    return ""


def lineage_taxon(lines: list[str]) -> str:
    """The lowest one-word rank of an ``ORGANISM`` block's lineage: usually the genus.

    The lineage follows the organism's name on continuation lines (``Viruses; ...;
    Straboviridae; Tevenvirinae; Tequatrovirus; Tequatrovirus T4.``); its last entries may be
    a species (two words), so the last single-word entry is taken (Tequatrovirus, Escherichia,
    Arabidopsis). The comparison reports accuracy on test genomes whose taxon no training
    genome shares.
    """
    body = []
    for more in lines[1:]:
        if not more.startswith(_HEADER_SPACER):
            break
        body.append(more[12:].strip())
    entries = [e.strip() for e in " ".join(body).rstrip(".").split(";")]
    return next((e for e in reversed(entries) if e and " " not in e), "")


_SOURCE_TAXID = re.compile(r'/db_xref="taxon:(\d+)"')


def source_taxid(table: str) -> str:
    """The NCBI taxonomy id of a features table's ``source`` feature (its first
    ``/db_xref="taxon:..."``: CDS features carry other db_xrefs), "" without one.

    Segments of a segmented virus have no assembly link in viral RefSeq but share this id,
    so the training split can keep them together (:mod:`.genome_clusters`).
    """
    found = _SOURCE_TAXID.search(table)
    return found.group(1) if found else ""


def parse_genbank(block: bytes, *, sequence: bool = True, where: str = "GenBank") -> GenBankRecord:
    """Id, sequence (upper case; "" without ORIGIN or when ``sequence`` is False), translations."""
    origin = block.find(b"\nORIGIN")  # bytes.find: a multi-line regex crawls through the block
    head = (block if origin < 0 else block[: origin + 1]).decode("latin-1")
    if "\r" in head:
        head = head.replace("\r\n", "\n")
    rid = _RecordId()
    translations: list[str] = []
    assembly = taxon = taxid = ""
    table_at = head.find("\nFEATURES")
    header = head if table_at < 0 else head[:table_at]
    lines = header.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("LOCUS"):
            tokens = line[5:].split()
            rid.name = tokens[0] if tokens else ""
        elif line.startswith("ACCESSION"):
            content = line[12:]
            for more in lines[i + 1 :]:
                if not more.startswith(_HEADER_SPACER):
                    break
                content += " " + more[12:]
            rid.accession(content)
        elif line.startswith("VERSION"):
            rid.version_line(line[12:])
        elif line.startswith("DBLINK"):
            assembly = assembly or _dblink_assembly(lines[i:])
        elif line.startswith("  ORGANISM"):
            taxon = taxon or lineage_taxon(lines[i:])
    table_from = head.find("\n", table_at + 1) if table_at >= 0 else -1
    if table_from >= 0:
        top = _TOP_LEVEL.search(head, table_from)
        table = head[table_from : top.start() + 1 if top else len(head)]
        translations = _features_translations(table, where)
        taxid = source_taxid(table)
    record_id = rid.final(where)
    seq = ""
    if sequence and origin >= 0:
        start = block.find(b"\n", origin + 1) + 1 or len(block)
        end = block.rfind(b"\n//")
        body = block[start : end if end >= start else len(block)]
        seq = body.translate(None, _NOT_SEQUENCE).decode("latin-1").upper()
    return GenBankRecord(record_id, seq, translations, assembly, taxon, taxid)


def _fasta_records(path: str | os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """(id, upper-case sequence) per FASTA record, as Biopython's FASTA parser reads them.

    Like Biopython (1.85+), spaces, tabs, CRs and newlines are deleted from the sequence, the
    id is the title up to the first whitespace, and text before the first header is refused.
    """
    with open_input(path) as handle, reading(path):
        try:
            for block in _split_records(handle, b">", preamble=False):
                title, _, body = block.partition(b"\n")
                seq = body.translate(None, b" \t\r\n").decode("latin-1").upper()
                yield fasta_id(title[1:].decode("latin-1")), seq
        except InputError as exc:  # _split_records does not know the file's name
            raise InputError(f"{path}: {exc}") from None


def _pairs(
    gbff: str | os.PathLike[str], fna: str | os.PathLike[str] | None
) -> Iterator[tuple[bytes, tuple[str, str] | None]]:
    """GenBank blocks paired in order with the FASTA records, when a FASTA is given."""
    blocks = iter_genbank_blocks(gbff)
    if fna is None:
        for block in blocks:
            yield block, None
        return
    for block, fasta in zip_longest(blocks, _fasta_records(fna)):
        if block is None or fasta is None:
            raise InputError(
                f"{fna} and {gbff} hold different numbers of records: the files must list "
                "the same records in the same order (or leave out the FASTA)"
            )
        yield block, fasta


def _read_record(
    block: bytes, fasta: tuple[str, str] | None, gbff: str, fna: str | None
) -> tuple[str, str, list[str], str, str, str]:
    """(id, upper-case sequence, CDS translations, genome key, taxon, taxid) of one GenBank
    block."""
    record = parse_genbank(block, sequence=fasta is None, where=gbff)
    genome = record.assembly or record.id
    if fasta is None:
        if not record.seq:
            raise InputError(
                f"{gbff}: record {record.id!r} has no ORIGIN sequence; give the matching FASTA"
            )
        return record.id, record.seq, record.translations, genome, record.taxon, record.taxid
    fa_id, fa_seq = fasta
    if fa_id != record.id:
        raise InputError(
            f"{fna} record {fa_id!r} pairs with {record.id!r} in {gbff}: the files must "
            "list the same records in the same order (or leave out the FASTA)"
        )
    return fa_id, fa_seq, record.translations, genome, record.taxon, record.taxid


def iter_genomes(
    gbff: str | os.PathLike[str], fna: str | os.PathLike[str] | None = None
) -> Iterator[tuple[str, str, list[str]]]:
    """(id, upper-case sequence, CDS translations) per record, streamed.

    With ``fna``, sequences come from the FASTA (as in the original) and must pair with the
    GenBank records in order; without it, from the GenBank ORIGIN.
    """
    for block, fasta in _pairs(gbff, fna):
        yield _read_record(block, fasta, str(gbff), None if fna is None else str(fna))[:3]


@dataclass(frozen=True, slots=True)
class RecordFrames:
    """One record's output text (FASTA records), built in a worker, written in input order."""

    id: str
    length: int
    chunks: int
    frames: int
    chunked: str
    nucleotide: str
    protein: str
    genome: str = ""  # the record's genome key (its assembly, else its own id)
    taxon: str = ""  # the lowest one-word rank of its lineage (lineage_taxon)
    taxid: str = ""  # its source feature's NCBI taxonomy id (source_taxid)


def select_frames(rid: str, seq: str, proteins: list[str], chunk_length: int) -> RecordFrames:
    """Chunk one genome and keep the stop-free frames found in its annotated proteins."""
    index = ProteinIndex(proteins)
    keep = (lambda _cid, p: index.contains(p)) if index.joined else (lambda _cid, _p: False)
    # Most genomes have no ambiguous base at all: one C-speed check spares a search per chunk.
    leftovers = seq.encode("latin-1").translate(None, b"ACGT").decode("latin-1")
    maybe_ambiguous = AMBIGUOUS.search(leftovers) is not None
    chunked: list[str] = []
    nuc: list[str] = []
    prot: list[str] = []
    n_chunks = n_frames = 0
    for cid, chunk, frames in translate_record(rid, seq, chunk_length, keep=keep):
        n_chunks += 1
        chunked.append(f">{cid}\n{wrap(chunk)}\n")
        if not frames or (maybe_ambiguous and AMBIGUOUS.search(chunk)):
            continue
        for frame in frames:
            nuc.append(f">{frame.id}\n{frame.nucleotide}\n")
            prot.append(f">{frame.id}\n{frame.protein}\n")
        n_frames += len(frames)
    return RecordFrames(
        rid, len(seq), n_chunks, n_frames, "".join(chunked), "".join(nuc), "".join(prot)
    )


def _work(task: tuple[bytes, tuple[str, str] | None, int, str, str | None]) -> RecordFrames:
    block, fasta, chunk_length, gbff, fna = task
    rid, seq, proteins, genome, taxon, taxid = _read_record(block, fasta, gbff, fna)
    frames = select_frames(rid, seq, proteins, chunk_length)
    return replace(frames, genome=genome, taxon=taxon, taxid=taxid)


_IGNORE_SIGINT = (signal.SIGINT, signal.SIG_IGN)


def _pool_context():
    """fork where available (no re-import per worker); the platform default elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _results(
    gbff: str | os.PathLike[str],
    fna: str | os.PathLike[str] | None,
    chunk_length: int,
    threads: int,
) -> Iterator[RecordFrames]:
    """Per-record outputs in input order; parallel over records when ``threads > 1``.

    The pool starts only once a second record shows up (single-genome files pay nothing),
    and at most ``2 * threads`` records are in flight, so memory does not grow with the file.
    """
    # With a FASTA the ORIGIN text is not needed: leaving it out halves what goes to workers.
    tasks = (
        (
            block if fasta is None else block[: block.find(b"\nORIGIN") + 1 or len(block)],
            fasta,
            chunk_length,
            str(gbff),
            None if fna is None else str(fna),
        )
        for block, fasta in _pairs(gbff, fna)
    )
    first = next(tasks, None)
    if first is None:
        return
    second = next(tasks, None)
    if threads <= 1 or second is None:
        yield _work(first)
        if second is not None:
            yield _work(second)
            for task in tasks:
                yield _work(task)
        return
    # workers ignore Ctrl-C: the parent stops them (one line from rule_logging, not a
    # traceback per worker)
    with _pool_context().Pool(threads, initializer=signal.signal, initargs=_IGNORE_SIGINT) as pool:
        pending: deque = deque()
        for task in (first, second):
            pending.append(pool.apply_async(_work, (task,)))
        for task in tasks:
            if len(pending) >= 2 * threads:
                yield pending.popleft().get()
            pending.append(pool.apply_async(_work, (task,)))
        while pending:
            yield pending.popleft().get()


def build_training_frames(
    gbff: str | os.PathLike[str],
    chunk_length: int,
    *,
    fna: str | os.PathLike[str] | None,
    chunked: str | os.PathLike[str],
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    sequences: str | os.PathLike[str],
    frame_index: str | os.PathLike[str] | None = None,
    n_shards: int | None = None,
    threads: int = 1,
    genomes: str | os.PathLike[str] | None = None,
) -> PreprocessStats:
    """Chunk genomes and keep the frames found in annotated proteins (training mode).

    ``genomes``: also write each record's genome key, taxon and taxid (:mod:`.genomes`), a
    side output so the frame files stay the original's bytes; the training split keeps a
    genome's records (and a taxid's unlinked records) together, the comparison reports test
    genomes of taxa unseen in training.

    ``frame_index``/``n_shards``: also write byte-range shards of the identified files
    (None: don't). ``threads``: processes working on the records of ``gbff`` in parallel;
    the output does not depend on it.
    """
    n_seq = n_bases = n_chunks = n_frames = 0
    genome_of: dict[str, str] = {}
    taxon_of: dict[str, str] = {}
    taxid_of: dict[str, str] = {}
    progress = Progress(f"training frames {Path(gbff).name}", None, unit="bp", logger=log)
    with (
        atomic_open(chunked) as chunk_out,
        atomic_open(nucleotide) as nuc_out,
        atomic_open(protein) as prot_out,
        atomic_open(sequences) as seq_out,
    ):
        seq_out.write(SEQUENCES.header_line)
        for out in _results(gbff, fna, chunk_length, max(1, threads)):
            chunk_out.write(out.chunked)
            nuc_out.write(out.nucleotide)
            prot_out.write(out.protein)
            seq_out.write(SEQUENCES.line(SequenceRow(out.id, out.length, out.chunks, out.frames)))
            genome_of[out.id] = out.genome or out.id
            taxon_of[out.id] = out.taxon
            taxid_of[out.id] = out.taxid
            n_seq += 1
            n_bases += out.length
            n_chunks += out.chunks
            n_frames += out.frames
            progress.update(out.length)
        if n_seq == 0:
            raise InputError(f"{gbff}: no GenBank records")
    progress.finish()
    if genomes is not None:
        write_genome_map(genome_of, genomes, taxon_of, taxid_of)
    if frame_index is not None:
        spans = index_shards(nucleotide, protein, n_frames, n_shards or 1)
        FRAME_INDEX.write(frame_index, spans)
    log.info(
        "%s: %d records, %d bp -> %d chunks -> %d frames in annotated proteins",
        gbff,
        n_seq,
        n_bases,
        n_chunks,
        n_frames,
    )
    return PreprocessStats(n_seq, n_bases, n_chunks, n_frames, 0)
