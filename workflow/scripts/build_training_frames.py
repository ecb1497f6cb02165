"""Rule build_training_frames: training-mode chunks and frames from a RefSeq GenBank file.

Records of one file are processed by ``threads`` processes; the output does not depend on it.
Side output ``genomes``: each record's genome key (its assembly), which the training split
keeps together. No shard index here: training frames are sharded after the manifest selects them.
"""

from virnucpro_smk.preprocess.cds_frames import build_training_frames
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
        genomes=snakemake.output.genomes,
        threads=snakemake.threads,
    )
