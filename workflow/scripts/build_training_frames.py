"""Rule build_training_frames: training-mode chunks and frames from a RefSeq GenBank file.

Records of one file are processed by ``threads`` processes; the output does not depend on it.
The ``shard_index`` output and ``n_shards`` param are optional (training frames are sharded
after the manifest is drawn).
"""

from virnucpro_smk.preprocess.training_frames import build_training_frames
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    build_training_frames(
        snakemake.input.gbff,
        int(snakemake.wildcards.L),
        fna=snakemake.input.get("fna") or None,
        chunked=snakemake.output.chunked,
        nucleotide=snakemake.output.nucleotide,
        protein=snakemake.output.protein,
        sequences=snakemake.output.sequences,
        shard_index=snakemake.output.get("shard_index"),
        n_shards=snakemake.params.get("n_shards"),
        threads=snakemake.threads,
    )
