"""Rule merge_features: concatenate one shard's DNA and protein embeddings."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.merge import merge_files

with rule_logging(snakemake) as log:
    n = merge_files(
        snakemake.input.dna,
        snakemake.input.protein,
        snakemake.output[0],
        chunk_length=int(snakemake.wildcards.L),
    )
    log.info("merged %d frames into %s", n, snakemake.output[0])
