"""Genome keys: which input records belong to one genome, so that a split never parts them.

A FASTA or GenBank *record* is not a genome: a bacterium comes as a chromosome and its
plasmids, a draft assembly as many scaffolds, a segmented virus as one record per segment.
Frames of one genome are correlated, so the training split (:mod:`.training_set`) assigns whole
genomes to train, validation or test. A record's genome key is

* for GenBank datasets, the ``DBLINK  Assembly:`` accession of the record (RefSeq gives it to
  every record of one assembly), written by the builder as the side output ``genomes.tsv``;
  a record without one is its own genome;
* for FASTA datasets, the optional ``genomes`` column of the training table: a TSV with
  columns ``record`` and ``genome`` (and optionally ``taxon``); records it does not list (or
  every record, without it) are their own genome.

GenBank maps also carry each record's taxon (the lowest one-word rank of its lineage, usually
the genus), so the comparison can report test genomes whose taxon no training genome shares.

What this does not guarantee: near relatives (two strains of one species, two phages of one
genus) are different genomes and may land in different splits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import InputError
from ..io.atomic import write_tsv

GENOME_COLUMNS = ["record", "genome"]
TAXON_COLUMN = "taxon"  # optional third column: the record's taxon (usually its genus)


def write_genome_map(
    genome_of: Mapping[str, str],
    path: str | os.PathLike[str],
    taxon_of: Mapping[str, str] | None = None,
) -> None:
    """Write ``record -> genome`` (and its taxon, when given) as a TSV, records in order."""
    if taxon_of is None:
        write_tsv(path, GENOME_COLUMNS, ([r, g] for r, g in genome_of.items()))
    else:
        rows = ([r, g, taxon_of.get(r, "")] for r, g in genome_of.items())
        write_tsv(path, [*GENOME_COLUMNS, TAXON_COLUMN], rows)


def read_genome_table(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``record -> genome`` and ``record -> taxon`` (the optional ``taxon`` column; records
    without one are absent) of a genome map; refuse a record given two genomes."""
    genome_of: dict[str, str] = {}
    taxon_of: dict[str, str] = {}
    if not os.path.isfile(path):
        raise InputError(f"{path}: genome map not found")
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header[:2] != GENOME_COLUMNS:
            raise InputError(f"{path}: a genome map needs the columns record and genome")
        taxon_at = header.index(TAXON_COLUMN) if TAXON_COLUMN in header else None
        for n, line in enumerate(handle, start=2):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[0] or not fields[1]:
                raise InputError(f"{path} line {n}: needs a record and a genome")
            record, genome = fields[0], fields[1]
            if genome_of.setdefault(record, genome) != genome:
                raise InputError(
                    f"{path} line {n}: record {record!r} is given two genomes "
                    f"({genome_of[record]!r} and {genome!r})"
                )
            if taxon_at is not None and len(fields) > taxon_at and fields[taxon_at]:
                taxon_of[record] = fields[taxon_at]
    return genome_of, taxon_of


def read_genome_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """``record -> genome`` of a genome map (:func:`read_genome_table`)."""
    return read_genome_table(path)[0]


def read_genome_taxa(path: str | os.PathLike[str]) -> dict[str, str]:
    """``record -> taxon`` of a genome map (:func:`read_genome_table`)."""
    return read_genome_table(path)[1]


def genome_key(record: str, genome_of: Mapping[str, str]) -> str:
    """The genome of ``record``: its mapped key, else the record itself."""
    return genome_of.get(record, record)
