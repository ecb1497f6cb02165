"""Rule build_training_frames: training-mode chunks and frames from a RefSeq GenBank file."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.train_builder import build_training_frames

with rule_logging(snakemake):
    build_training_frames(
        snakemake.input.gbff,
        int(snakemake.wildcards.L),
        fna=snakemake.input.fna or None,
        chunked=snakemake.output.chunked,
        nucleotide=snakemake.output.nucleotide,
        protein=snakemake.output.protein,
        sequences=snakemake.output.sequences,
        shard_index=snakemake.output.shard_index,
        n_shards=snakemake.params.n_shards,
    )
