"""Rules preprocess_sample and preprocess_training_fasta: validate, chunk, six-frame select.

Samples also get their frame index (byte ranges that each model's extraction jobs group into
runs); training datasets do not: their frames are indexed after the training manifest
selects them.
"""

from virnucpro_smk.preprocess.sample import preprocess_fasta
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    out = snakemake.output
    preprocess_fasta(
        snakemake.input.fasta,
        int(snakemake.wildcards.L),
        out.chunked,
        out.nucleotide,
        out.protein,
        out.sequences,
        snakemake.params.ambiguous,
        frame_index=out.get("frame_index"),
    )
