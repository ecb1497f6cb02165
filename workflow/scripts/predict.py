"""Rule predict_sample: score a sample block by block; chunk, sequence, region tables, FASTA."""

from virnucpro_smk.classify.calls import CallThresholds
from virnucpro_smk.classify.predict import FeatureFiles, PredictionFiles, predict_sample
from virnucpro_smk.classify.region_model import RegionModel
from virnucpro_smk.report.scores_plot import plot_scores
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    wildcards = snakemake.wildcards
    params = snakemake.params
    scores = predict_sample(
        FeatureFiles.of_job(snakemake.input, wildcards),
        snakemake.input.weights,
        snakemake.input.sequences,
        snakemake.input.fasta,
        PredictionFiles(
            snakemake.output.predictions,
            snakemake.output.per_chunk,
            snakemake.output.per_sequence,
            snakemake.output.viral_fasta,
            snakemake.output.regions,
            snakemake.output.region_fasta,
        ),
        CallThresholds.from_config(params),  # predict.min_viral_fraction, min_scored_fraction
        RegionModel(**params.region_model),
    )
    plot_scores(
        scores,
        snakemake.output.plot,
        tracks=params.plot_tracks,
        title=f"{wildcards.get('sample', '')} {wildcards.dna_model}+{wildcards.protein_model}",
    )
