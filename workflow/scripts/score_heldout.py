"""Rule score_heldout: the held-out fragments scored by every training seed's classifier."""

from virnucpro_smk.classify.heldout import score_heldout
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    wildcards = snakemake.wildcards
    score_heldout(
        list(snakemake.input.dna),
        list(snakemake.input.protein),
        dict(zip(snakemake.params.seeds, snakemake.input.seed_weights, strict=True)),
        snakemake.input.sequences,
        int(wildcards.L),
        wildcards.dna_model,
        wildcards.protein_model,
        snakemake.output.chunks,
        snakemake.output.sequences,
        min_viral_fraction=snakemake.params.min_viral_fraction,
        min_scored_fraction=snakemake.params.min_scored_fraction,
    )
