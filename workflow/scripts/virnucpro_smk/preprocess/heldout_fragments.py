"""Held-out test fragments: what `predict` would be given, cut from the test genomes.

The training manifest tests a classifier on the frames the training-mode builder kept (for
GenBank datasets only frames inside annotated CDS proteins). Users run `predict` on contigs
and reads, where every stop-free frame of every chunk is scored, non-coding host DNA and
wrong-frame ORFs included, and where a sequence is called from its chunks. So the comparison
also scores *fragments* of the test genomes through predict's own preprocessing and rules.

Fragments are cut at the lengths users bring (``compare.fragment_lengths``, default 1, 3, 10
and 30 kb), ``per_genome`` of each length from every test genome that has a record at least
that long, at seeded positions (a record drawn in proportion to its number of possible
starts). Only genomes of the manifest's test split are cut, so no fragment shares a genome
with a training or validation frame; near relatives (another strain of the species) are not
excluded (see :mod:`.genomes`).

Outputs: ``fragments.fa`` (the input of predict's preprocessing) and ``fragments.tsv`` (one
row per fragment: its length class, dataset, group, label, genome, source record, 1-based
span, taxon and whether a training genome shares that taxon), plus a small JSON summary.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..formats.heldout import FRAGMENTS, FragmentRow
from ..formats.manifest import MANIFEST
from ..formats.sequences import SEQUENCES
from ..io.atomic import atomic_open, write_text_atomic
from ..io.fasta import format_record, read_nucleotide_fasta
from .genomes import genome_key, read_genome_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRecord:
    """A record of a test genome, with what the fragments cut from it inherit."""

    dataset: str
    group: str
    label: int
    genome: str
    record: str
    length_bp: int
    taxon: str = ""  # usually the genus (genome maps' taxon column); "" unknown
    taxon_in_training: str = ""  # "yes"/"no": a training genome shares the taxon; "" unknown


@dataclass(frozen=True)
class Fragment:
    """``length_bp`` bases of ``source.record`` from 0-based ``start``."""

    id: str
    length_bp: int
    source: SourceRecord
    start: int

    @property
    def end(self) -> int:
        return self.start + self.length_bp

    def row(self) -> FragmentRow:
        s = self.source
        return FragmentRow(
            self.id,
            self.length_bp,
            s.dataset,
            s.group,
            s.label,
            s.genome,
            s.record,
            self.start + 1,
            self.end,
            s.taxon,
            s.taxon_in_training,
        )


def split_genomes(manifest: str | os.PathLike[str]) -> dict[str, dict[str, set[str]]]:
    """Genomes of each split, per dataset (streamed: millions of rows)."""
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in MANIFEST.read(manifest):
        out[row.split][row.dataset].add(row.genome or row.record)
    return {split: dict(by_dataset) for split, by_dataset in out.items()}


def plan_fragments(
    records: Sequence[SourceRecord], lengths: Sequence[int], per_genome: int, seed: int
) -> list[Fragment]:
    """Seeded fragment positions: ``per_genome`` per length per genome that can hold one.

    Genomes are visited in sorted order and each draws from its own generator (``seed`` and
    the genome's rank), so adding a length or changing ``per_genome`` moves no other draw.
    A record is chosen in proportion to its possible starts, then a start uniformly.
    """
    if per_genome < 1 or not lengths or min(lengths) < 1:
        raise InputError("fragments need positive lengths and at least one per genome")
    by_genome: dict[tuple[str, str], list[SourceRecord]] = defaultdict(list)
    for r in records:
        by_genome[(r.dataset, r.genome)].append(r)
    fragments: list[Fragment] = []
    for rank, key in enumerate(sorted(by_genome)):
        members = sorted(by_genome[key], key=lambda r: r.record)
        for length in sorted(set(int(v) for v in lengths)):
            rng = np.random.default_rng([seed, rank, length])
            fits = [r for r in members if r.length_bp >= length]
            if not fits:
                continue
            starts = np.array([r.length_bp - length + 1 for r in fits], dtype=float)
            for _ in range(per_genome):
                source = fits[int(rng.choice(len(fits), p=starts / starts.sum()))]
                start = int(rng.integers(0, source.length_bp - length + 1))
                fragments.append(
                    Fragment(f"tf{len(fragments) + 1:07d}_{length}bp", length, source, start)
                )
    return fragments


def _sequence_lengths(path: str | os.PathLike[str]) -> dict[str, int]:
    """Record lengths from a dataset's ``sequences.tsv`` (written by its preprocessing)."""
    return {row.sequence_id: row.length_bp for row in SEQUENCES.read(path)}


def dataset_sequences(spec: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(record id, upper-case sequence) of a training dataset, as its preprocessing read it."""
    from .cds_frames import iter_genomes

    if spec.get("gbff"):
        for rid, seq, _ in iter_genomes(spec["gbff"], spec.get("fasta") or None):
            yield rid, seq
    else:
        for record in read_nucleotide_fasta(spec["fasta"]):
            yield record.id, record.seq


@dataclass(frozen=True)
class HeldoutDataset:
    """One training dataset as the cutter reads it."""

    name: str
    spec: Mapping[str, object]  # the training table's row: label, group, fasta, gbff
    sequences_tsv: Path  # its preprocessing's per-record lengths
    genome_map: Path | None  # record -> genome (None: each record is its own genome)


def _training_taxa(
    datasets: Sequence[HeldoutDataset],
    train: Mapping[str, set[str]],
    maps: Mapping[str, Mapping[str, str]],
    taxa: Mapping[str, Mapping[str, str]],
) -> set[str]:
    """Taxa of the genomes that trained the classifiers (any dataset: a genus is a genus)."""
    out: set[str] = set()
    for d in datasets:
        genomes = train.get(d.name, set())
        for record, taxon in taxa[d.name].items():
            if genome_key(record, maps[d.name]) in genomes:
                out.add(taxon)
    return out


def cut_test_fragments(
    datasets: Iterable[HeldoutDataset],
    manifest: str | os.PathLike[str],
    lengths: Sequence[int],
    per_genome: int,
    seed: int,
    fasta_out: str | os.PathLike[str],
    table_out: str | os.PathLike[str],
    summary_out: str | os.PathLike[str],
) -> dict[str, object]:
    """Plan the fragments of the manifest's test genomes, then cut them in one pass per file."""
    splits = split_genomes(manifest)
    wanted = splits.get("test", {})
    datasets = list(datasets)
    tables = {
        d.name: read_genome_table(d.genome_map) if d.genome_map else ({}, {}) for d in datasets
    }
    maps = {name: genome_of for name, (genome_of, _) in tables.items()}
    taxa = {name: taxon_of for name, (_, taxon_of) in tables.items()}
    trained_taxa = _training_taxa(datasets, splits.get("train", {}), maps, taxa)
    records: list[SourceRecord] = []
    for d in datasets:
        genomes = wanted.get(d.name, set())
        if not genomes:
            continue
        for rid, length in _sequence_lengths(d.sequences_tsv).items():
            genome = genome_key(rid, maps[d.name])
            if genome in genomes:
                label, group = int(d.spec["label"]), str(d.spec["group"])  # type: ignore[call-overload]
                taxon = taxa[d.name].get(rid, "")
                seen = ("yes" if taxon in trained_taxa else "no") if taxon else ""
                records.append(SourceRecord(d.name, group, label, genome, rid, length, taxon, seen))
    fragments = plan_fragments(records, lengths, per_genome, seed)
    if not fragments:
        raise InputError(
            "no held-out fragment: no test genome has a record as long as the shortest of "
            f"compare.fragment_lengths ({min(lengths)} bp)"
        )
    by_record: dict[tuple[str, str], list[Fragment]] = defaultdict(list)
    for f in fragments:
        by_record[(f.source.dataset, f.source.record)].append(f)
    cut: dict[str, str] = {}
    for d in datasets:
        todo = {rid for (name, rid) in by_record if name == d.name}
        if not todo:
            continue
        for rid, seq in dataset_sequences(d.spec):  # type: ignore[arg-type]
            for f in by_record.get((d.name, rid), []):
                if len(seq) < f.end:
                    raise InputError(
                        f"{d.name}: record {rid} has {len(seq)} bp, its sequences.tsv said "
                        f"{f.source.length_bp}: rerun its preprocessing"
                    )
                cut[f.id] = seq[f.start : f.end]
            todo.discard(rid)
            if not todo:
                break
        if todo:
            raise InputError(f"{d.name}: record(s) {sorted(todo)[:5]} not found in its files")
    with atomic_open(fasta_out) as out:
        for f in fragments:
            out.write(format_record(f.id, cut[f.id], 60))
    FRAGMENTS.write(table_out, (f.row() for f in fragments))
    summary = fragment_summary(fragments, wanted)
    write_text_atomic(summary_out, json.dumps(summary, indent=1) + "\n")
    log.info("held-out fragments: %s", summary["fragments_by_length"])
    return summary


def fragment_summary(
    fragments: Sequence[Fragment], wanted: Mapping[str, set[str]]
) -> dict[str, object]:
    """Counts a reader checks: fragments per length and label, genomes cut vs test genomes."""
    by_length: Counter[str] = Counter()
    for f in fragments:
        by_length[f"{f.length_bp} {'viral' if f.source.label else 'nonviral'}"] += 1
    cut_genomes = {(f.source.dataset, f.source.genome) for f in fragments}
    unseen = {
        (f.source.dataset, f.source.genome) for f in fragments if f.source.taxon_in_training == "no"
    }
    return {
        "genomes_of_taxa_unseen_in_training": len(unseen),
        "fragments": len(fragments),
        "fragments_by_length": dict(sorted(by_length.items())),
        "test_genomes": sum(len(g) for g in wanted.values()),
        "genomes_cut": len(cut_genomes),
        "bases": sum(f.length_bp for f in fragments),
    }


def read_fragment_table(path: str | os.PathLike[str]) -> list[FragmentRow]:
    """``fragments.tsv`` rows (a few per test genome: read whole)."""
    return FRAGMENTS.read_all(path)
