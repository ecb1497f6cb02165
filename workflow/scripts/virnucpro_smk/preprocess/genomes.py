"""Genome keys: which input records belong to one genome, so that a split never parts them.

A FASTA or GenBank *record* is not a genome: a bacterium comes as a chromosome and its
plasmids, a draft assembly as many scaffolds, a segmented virus as one record per segment.
Frames of one genome are correlated, so the training split (:mod:`.genome_splits`) assigns whole
genomes to train, validation or test. A record's genome key is

* for GenBank datasets, the ``DBLINK  Assembly:`` accession of the record (RefSeq gives it to
  every record of one assembly), written by the builder as the side output ``genomes.tsv``;
  a record without one is its own genome;
* for FASTA datasets, the optional ``genomes`` column of the training table: a TSV with
  columns ``record`` and ``genome`` (and optionally ``taxon``); records it does not list (or
  every record, without it) are their own genome.

GenBank maps also carry each record's taxon (the lowest one-word rank of its lineage, usually
the genus), so the comparison can report test genomes whose taxon no training genome shares,
and its NCBI taxonomy id (``taxid``, from the source feature's ``/db_xref="taxon:..."``),
which groups records without an assembly link (the segments of a segmented virus).

Near relatives (two strains of one species) are different genomes; the split keeps them
together through species clusters (:mod:`.genome_clusters`), not through this map.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import InputError
from ..formats.genome_maps import GENOME_MAP, GenomeMapRow


def write_genome_map(
    genome_of: Mapping[str, str],
    path: str | os.PathLike[str],
    taxon_of: Mapping[str, str] | None = None,
    taxid_of: Mapping[str, str] | None = None,
) -> None:
    """Write ``record -> genome`` (and its taxon and taxid, "" where unknown) as a genome
    map, records in order."""
    taxon_of, taxid_of = taxon_of or {}, taxid_of or {}
    rows = (
        GenomeMapRow(r, g, taxon_of.get(r, ""), taxid_of.get(r, "")) for r, g in genome_of.items()
    )
    GENOME_MAP.write(path, rows)


def _read_columns(
    path: str | os.PathLike[str], optional: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``record -> genome`` and, per optional column, ``record -> value`` (records without a
    value are absent) of a genome map; refuse a record given two genomes."""
    genome_of: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {c: {} for c in optional}
    for n, row in GENOME_MAP.read_numbered(path):
        record, genome = row.record, row.genome
        if not record or not genome:
            raise InputError(f"{path}, line {n}: needs a record and a genome")
        if genome_of.setdefault(record, genome) != genome:
            raise InputError(
                f"{path}, line {n}: record {record!r} is given two genomes "
                f"({genome_of[record]!r} and {genome!r})"
            )
        for column in optional:
            value = getattr(row, column)
            if value:
                values[column][record] = value
    return genome_of, values


def read_genome_table(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``record -> genome`` and ``record -> taxon`` (the optional ``taxon`` column; records
    without one are absent) of a genome map; refuse a record given two genomes."""
    genome_of, values = _read_columns(path, ("taxon",))
    return genome_of, values["taxon"]


def read_genome_ids(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``record -> genome`` and ``record -> taxid`` (the optional ``taxid`` column) of a
    genome map: what the species clusters group records by."""
    genome_of, values = _read_columns(path, ("taxid",))
    return genome_of, values["taxid"]


def read_genome_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """``record -> genome`` of a genome map (:func:`read_genome_table`)."""
    return read_genome_table(path)[0]


def genome_key(record: str, genome_of: Mapping[str, str]) -> str:
    """The genome of ``record``: its mapped key, else the record itself."""
    return genome_of.get(record, record)
