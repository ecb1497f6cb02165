"""Rules preprocess_sample and preprocess_training_fasta: validate, chunk, six-frame select.

Samples also get their shard index (byte ranges that the extraction jobs read); training
datasets do not: their frames are sharded after the training manifest selects them.
"""

from virnucpro_smk.preprocess.sample import preprocess_fasta, preprocess_sample
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    out = snakemake.output
    if "shard_index" in out.keys():  # noqa: SIM118 - a Namedlist: `in` looks at values
        preprocess_sample(
            snakemake.input.fasta,
            int(snakemake.wildcards.L),
            snakemake.params.n_shards,
            chunked=out.chunked,
            nucleotide=out.nucleotide,
            protein=out.protein,
            sequences=out.sequences,
            shard_index=out.shard_index,
            ambiguous=snakemake.params.ambiguous,
        )
    else:
        preprocess_fasta(
            snakemake.input.fasta,
            int(snakemake.wildcards.L),
            out.chunked,
            out.nucleotide,
            out.protein,
            out.sequences,
            snakemake.params.ambiguous,
        )
