"""Rule shard_frames: copy one shard's byte range of the kept frames into its own files."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.preprocess import write_shard

with rule_logging(snakemake) as log:
    span = write_shard(
        snakemake.input.shard_index,
        int(snakemake.wildcards.shard),
        snakemake.input.nucleotide,
        snakemake.input.protein,
        snakemake.output.nucleotide,
        snakemake.output.protein,
    )
    log.info("shard %s: %d frames", snakemake.wildcards.shard, span.n_records)
