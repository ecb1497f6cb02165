"""Genome clusters: the units the training split keeps together, so that nothing leaks.

A genome key (:mod:`.genomes`) keeps the records of one assembly together. Two leaks remain,
and this module closes both by grouping genomes into **clusters** that the split assigns
whole (the genome map stays as it is: the grouping belongs to the split, not to the frame
files, which stay byte-identical to the original's):

* **records without an assembly link.** Viral RefSeq GenBank records carry no ``DBLINK
  Assembly:`` line, so each segment of a segmented virus is its own genome. Records without
  one are grouped by the NCBI taxon of their ``source`` feature (``/db_xref="taxon:..."``,
  the builder's ``taxid`` column): the segments of one virus share it.
* **near-identical genomes of one species** under different accessions. Genomes are
  clustered at the species level of the MIUViG standard: average nucleotide identity >= 95 %
  over >= 85 % of the shorter sequence, measured with skani (``pyskani``; sparse-chaining ANI,
  maintained, fast enough for RefSeq), linked by single linkage, so that no pair above the
  threshold can lie in two splits (a chain may join pairs below it: clusters err on the side
  of keeping more together).

ANI is measured record against record within each training group (a group is what the
split balances; a viral genome is never joined to a host genome, whose label differs), so a
record is held in memory one at a time and only sketches accumulate. A group whose median
record is under 1 Mb (viruses, plasmids, organelles) is sketched with skani's small-genome
preset (``--small-genomes``: compression 30, markers 200; phiX174's 5.4 kb is measured), a
larger one with skani's defaults (125, 1000). Records under ``MIN_RECORD_BP`` give skani too
few k-mers and are never linked by ANI.

Output ``genome_clusters.tsv``: ``dataset, genome, cluster, reason`` for every genome of
every dataset; a cluster is named after its smallest member genome key, so a genome alone in
its cluster keeps its own key (and draws exactly the split it drew before clustering).
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..formats.genome_maps import GENOME_CLUSTERS, ClusterRow
from ..formats.sequences import SEQUENCES
from ..runtime.progress import Progress
from .genomes import genome_key, read_genome_ids
from .heldout_fragments import dataset_sequences

log = logging.getLogger(__name__)

MIN_ANI = 0.95  # MIUViG species: ANI >= 95 % ...
MIN_SHORTER_FRACTION = 0.85  # ... over >= 85 % of the shorter genome
MIN_RECORD_BP = 1000
SMALL_GENOME_BP = 1_000_000  # median record length under which skani's small-genome preset is used
SMALL_PRESET = (30, 200)  # skani --small-genomes: compression, marker compression
DEFAULT_PRESET = (125, 1000)  # skani's defaults


@dataclass(frozen=True)
class ClusterDataset:
    """One training dataset as the clusterer reads it."""

    name: str
    group: str
    label: int
    spec: Mapping[str, object]  # the training table's row (fasta, gbff)
    sequences_tsv: Path  # its preprocessing's record lengths
    genome_map: Path | None  # record -> genome (and taxid) map; None: each record its genome


class UnionFind:
    """Disjoint sets of hashable keys; each set is named after its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, key: str) -> None:
        self.parent.setdefault(key, key)

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def taxon_key(taxid: str) -> str:
    return f"taxid:{taxid}"


def shorter_fraction(hit: object, query_bp: int, reference_bp: int) -> float:
    """The aligned fraction of the shorter of the two sequences of a skani hit."""
    if query_bp <= reference_bp:
        return float(hit.query_fraction)  # type: ignore[attr-defined]
    return float(hit.reference_fraction)  # type: ignore[attr-defined]


def same_species(hit: object, query_bp: int, reference_bp: int) -> bool:
    """MIUViG's species threshold on one skani hit."""
    return float(hit.identity) >= MIN_ANI and (  # type: ignore[attr-defined]
        shorter_fraction(hit, query_bp, reference_bp) >= MIN_SHORTER_FRACTION
    )


def ani_links(records: Iterable[tuple[str, str]], preset: tuple[int, int]) -> list[tuple[str, str]]:
    """Pairs of record ids at the species threshold (each pair once, sorted), in one pass:
    each record is queried against the records before it, then sketched (records under
    ``MIN_RECORD_BP`` are skipped)."""
    import pyskani

    db = pyskani.Database(compression=preset[0], marker_compression=preset[1])
    lengths: dict[str, int] = {}
    links = set()
    for rid, seq in records:
        if len(seq) < MIN_RECORD_BP:
            continue
        if lengths:
            for hit in db.query(rid, seq):
                other = hit.reference_name
                if other != rid and same_species(hit, len(seq), lengths[other]):
                    links.add(tuple(sorted((rid, other))))
        db.sketch(rid, seq)
        lengths[rid] = len(seq)
    return sorted(links)  # type: ignore[arg-type]


def genome_clusters(datasets: Sequence[ClusterDataset], species: bool = True) -> list[ClusterRow]:
    """Rows ``dataset, genome, cluster, reason`` of every genome (see the module doc)."""
    uf = UnionFind()
    rows: dict[tuple[str, str], None] = {}
    reason: dict[str, set[str]] = defaultdict(set)
    genome_of_record: dict[tuple[str, str], str] = {}
    by_group: dict[tuple[int, str], list[ClusterDataset]] = defaultdict(list)
    lengths: dict[tuple[int, str], list[int]] = defaultdict(list)
    for d in datasets:
        by_group[(d.label, d.group)].append(d)
        genome_of, taxid_of = read_genome_ids(d.genome_map) if d.genome_map else ({}, {})
        lengths_of = {r.sequence_id: r.length_bp for r in SEQUENCES.read(d.sequences_tsv)}
        for rid, length in lengths_of.items():
            genome = genome_key(rid, genome_of)
            genome_of_record[(d.name, rid)] = genome
            lengths[(d.label, d.group)].append(length)
            uf.add(genome)
            rows.setdefault((d.name, genome))
            taxid = taxid_of.get(rid, "")
            if taxid and genome == rid:  # no assembly link: its taxon keeps segments together
                uf.add(taxon_key(taxid))
                uf.union(genome, taxon_key(taxid))
                reason[genome].add("taxon")
    if species:
        for key, group_sets in sorted(by_group.items()):
            small = bool(lengths[key]) and statistics.median(lengths[key]) < SMALL_GENOME_BP
            progress = Progress(
                f"species clusters of group {key[1]}", None, unit="records", logger=log
            )
            for a, b in ani_links(
                _named_sequences(group_sets, progress), SMALL_PRESET if small else DEFAULT_PRESET
            ):
                ga, gb = genome_of_record[_split_key(a)], genome_of_record[_split_key(b)]
                if uf.find(ga) != uf.find(gb):
                    uf.union(ga, gb)
                    reason[ga].add("ani")
                    reason[gb].add("ani")
            progress.finish()
    # a cluster is named after its smallest member genome (never a taxid key)
    name: dict[str, str] = {}
    for _, genome in rows:
        root = uf.find(genome)
        name[root] = min(name.get(root, genome), genome)
    return [
        ClusterRow(
            dataset, genome, name[uf.find(genome)], ",".join(sorted(reason[genome])) or "self"
        )
        for dataset, genome in rows
    ]


def _split_key(name: str) -> tuple[str, str]:
    dataset, _, rid = name.partition("\t")
    return dataset, rid


def _named_sequences(
    datasets: Sequence[ClusterDataset], progress: Progress
) -> Iterator[tuple[str, str]]:
    for d in datasets:
        for rid, seq in dataset_sequences(d.spec):
            progress.update(1)
            yield f"{d.name}\t{rid}", seq


def write_cluster_map(rows: Sequence[ClusterRow], path: str | os.PathLike[str]) -> None:
    """``genome_clusters.tsv`` (atomically)."""
    GENOME_CLUSTERS.write(path, rows)


def read_cluster_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """``genome -> cluster`` of a ``genome_clusters.tsv``."""
    out: dict[str, str] = {}
    for n, row in GENOME_CLUSTERS.read_numbered(path):
        if out.setdefault(row.genome, row.cluster) != row.cluster:
            raise InputError(f"{path}, line {n}: genome {row.genome} is in two clusters")
    return out
