"""Rule preprocess_sample: validate, chunk and six-frame select one sample."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.preprocess import preprocess_sample

with rule_logging(snakemake):
    preprocess_sample(
        snakemake.input.fasta,
        int(snakemake.wildcards.L),
        snakemake.params.n_shards,
        chunked=snakemake.output.chunked,
        nucleotide=snakemake.output.nucleotide,
        protein=snakemake.output.protein,
        sequences=snakemake.output.sequences,
        shard_index=snakemake.output.shard_index,
        ambiguous=snakemake.params.ambiguous,
    )
