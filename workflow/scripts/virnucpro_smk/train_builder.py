"""Training-data builder: the original's training-mode frame selection from RefSeq files.

For each genome record (streamed from ``*.genomic.fna(.gz)`` together with its GenBank file,
never decompressed to disk nor read whole), chunks containing an ambiguous base
(``N R Y M K S W H B V D``) are dropped, and a stop-free frame is kept only when its
translation occurs inside an annotated CDS ``/translation`` of the same record. Outputs are
byte-identical to the original's (tests/test_train_builder.py).

The original scans every protein of the record for every frame; here a k-mer index narrows
each query to the few proteins that share its first k-mer.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from Bio import SeqIO

from .atomic import atomic_open
from .errors import InputError
from .fasta import format_record, is_gzip, wrap
from .frames import translate_record
from .preprocess import SEQUENCES_HEADER, PreprocessStats, index_shards, write_shard_index
from .progress import Progress

log = logging.getLogger(__name__)

AMBIGUOUS = re.compile(r"[NRYMKSWHBVD]")


class ProteinIndex:
    """Substring queries against a record's CDS translations, via a k-mer -> protein map."""

    def __init__(self, proteins: list[str], k: int = 5) -> None:
        self.proteins = [p for p in proteins if p]
        self.k = k
        self.joined = "\n".join(self.proteins)
        self.kmers: dict[str, set[int]] = defaultdict(set)
        for i, protein in enumerate(self.proteins):
            for j in range(len(protein) - k + 1):
                self.kmers[protein[j : j + k]].add(i)

    def contains(self, query: str) -> bool:
        """True when ``query`` is a substring of at least one protein."""
        if len(query) < self.k:
            return query in self.joined
        candidates = self.kmers.get(query[: self.k])
        if not candidates:
            return False
        return any(query in self.proteins[i] for i in candidates)


def cds_translations(record) -> list[str]:
    """The /translation of each CDS feature, in feature order ("" where absent)."""
    return [f.qualifiers.get("translation", [""])[0] for f in record.features if f.type == "CDS"]


def _open(path: str | os.PathLike[str]):
    return gzip.open(path, "rt") if is_gzip(path) else open(path, encoding="utf-8")


def iter_genomes(
    gbff: str | os.PathLike[str], fna: str | os.PathLike[str] | None = None
) -> Iterator[tuple[str, str, list[str]]]:
    """(id, upper-case sequence, CDS translations) per record, streamed.

    With ``fna``, sequences come from the FASTA (as in the original) and must pair with the
    GenBank records in order; without it, from the GenBank ORIGIN.
    """
    with _open(gbff) as gb_handle:
        genbank = SeqIO.parse(gb_handle, "genbank")
        if fna is None:
            for rec in genbank:
                yield rec.id, str(rec.seq).upper(), cds_translations(rec)
            return
        with _open(fna) as fa_handle:
            for fa, gb in zip(SeqIO.parse(fa_handle, "fasta"), genbank, strict=False):
                if fa.id != gb.id:
                    raise InputError(
                        f"{fna} record {fa.id!r} pairs with {gb.id!r} in {gbff}: the files must "
                        "list the same records in the same order (or leave out the FASTA)"
                    )
                yield fa.id, str(fa.seq).upper(), cds_translations(gb)


def scan_genbank_lengths(path: str | os.PathLike[str]) -> list[int]:
    """Record lengths from LOCUS lines (cheap; used to size shards at DAG build)."""
    lengths = []
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.startswith(b"LOCUS"):
                match = re.search(rb"\s(\d+) (?:bp|aa)", line)
                if match:
                    lengths.append(int(match.group(1)))
    return lengths


def build_training_frames(
    gbff: str | os.PathLike[str],
    chunk_length: int,
    *,
    fna: str | os.PathLike[str] | None,
    chunked: str | os.PathLike[str],
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    sequences: str | os.PathLike[str],
    shard_index: str | os.PathLike[str] | None = None,
    n_shards: int = 1,
) -> PreprocessStats:
    """Chunk genomes and keep the frames found in annotated proteins (training mode)."""
    n_seq = n_bases = n_chunks = n_frames = 0
    progress = Progress(f"training frames {Path(gbff).name}", None, unit="bp", logger=log)
    with (
        atomic_open(chunked) as chunk_out,
        atomic_open(nucleotide) as nuc_out,
        atomic_open(protein) as prot_out,
        atomic_open(sequences) as seq_out,
    ):
        seq_out.write(SEQUENCES_HEADER)
        for rid, seq, proteins in iter_genomes(gbff, fna):
            n_seq += 1
            n_bases += len(seq)
            index = ProteinIndex(proteins)
            rec_chunks = rec_frames = 0
            for cid, chunk, frames in translate_record(
                rid, seq, chunk_length, keep=lambda _cid, p, index=index: index.contains(p)
            ):
                rec_chunks += 1
                chunk_out.write(f">{cid}\n{wrap(chunk)}\n")
                if AMBIGUOUS.search(chunk):
                    continue
                for frame in frames:
                    nuc_out.write(format_record(frame.id, frame.nucleotide))
                    prot_out.write(format_record(frame.id, frame.protein))
                rec_frames += len(frames)
            seq_out.write(f"{rid}\t{len(seq)}\t{rec_chunks}\t{rec_frames}\n")
            n_chunks += rec_chunks
            n_frames += rec_frames
            progress.update(len(seq))
    progress.finish()
    if n_seq == 0:
        raise InputError(f"{gbff}: no GenBank records")
    if shard_index is not None:
        write_shard_index(index_shards(nucleotide, protein, n_frames, n_shards), shard_index)
    log.info(
        "%s: %d records, %d bp -> %d chunks -> %d frames in annotated proteins",
        gbff,
        n_seq,
        n_bases,
        n_chunks,
        n_frames,
    )
    return PreprocessStats(n_seq, n_bases, n_chunks, n_frames, 0)
