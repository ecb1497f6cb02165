"""Rule score_heldout: the held-out fragments scored by every training seed's classifier."""

from virnucpro_smk.classify.calls import CallThresholds
from virnucpro_smk.classify.heldout import HeldoutFiles, score_heldout
from virnucpro_smk.classify.predict import FeatureFiles
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    wildcards = snakemake.wildcards
    params = snakemake.params
    score_heldout(
        FeatureFiles.of_job(snakemake.input, wildcards),
        dict(zip(params.seeds, snakemake.input.seed_weights, strict=True)),
        snakemake.input.sequences,
        HeldoutFiles(snakemake.output.chunks, snakemake.output.sequences),
        CallThresholds.from_config(params),  # predict.min_viral_fraction, min_scored_fraction
    )
