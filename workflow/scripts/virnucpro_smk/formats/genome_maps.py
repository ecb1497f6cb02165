"""Which records form one genome, and which genomes one cluster: the units the training split
keeps together (``preprocess.genomes``, ``preprocess.genome_clusters``).

* a **genome map** (:data:`GENOME_MAP`): ``record, genome`` and optionally each record's
  ``taxon`` (usually its genus) and NCBI ``taxid``; the training-mode builder writes one
  per GenBank dataset (``genomes.tsv``), users give one per FASTA dataset (the training
  table's ``genomes`` column), so it reads as a table users write (comments, other columns,
  rows without their optional cells);
* ``genome_clusters.tsv`` (:data:`GENOME_CLUSTERS`): each genome of each dataset, its
  cluster (named after its smallest member genome) and why it joined it (``self``,
  ``taxon``, ``ani``, comma-separated).
"""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class GenomeMapRow:
    record: str
    genome: str
    taxon: str = ""  # "" unknown
    taxid: str = ""  # "" unknown


GENOME_MAP = Table("genome map", GenomeMapRow, extra_columns=True, comments=True, ragged=True)


@dataclass(frozen=True)
class ClusterRow:
    dataset: str
    genome: str
    cluster: str
    reason: str


GENOME_CLUSTERS = Table("genome_clusters.tsv", ClusterRow)
