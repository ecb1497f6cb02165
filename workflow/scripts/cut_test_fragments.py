"""Checkpoint cut_test_fragments: fragments of the manifest's test genomes, as predict input."""

from pathlib import Path

from virnucpro_smk.preprocess.heldout_fragments import HeldoutDataset, cut_test_fragments
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    cut_test_fragments(
        [
            HeldoutDataset(
                name,
                d["spec"],
                Path(d["sequences"]),
                Path(d["genome_map"]) if d["genome_map"] else None,
            )
            for name, d in snakemake.params.datasets.items()
        ],
        snakemake.input.manifest,
        list(snakemake.params.lengths),
        int(snakemake.params.per_genome),
        int(snakemake.params.seed),
        snakemake.output.fasta,
        snakemake.output.table,
        snakemake.output.summary,
    )
