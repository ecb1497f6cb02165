"""Rule predict_sample: score a sample block by block; chunk, sequence, region tables, FASTA."""

from virnucpro_smk.classify.predict import PredictionFiles, predict_sample
from virnucpro_smk.classify.regions import RegionModel
from virnucpro_smk.report.scores_plot import plot_scores
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    wildcards = snakemake.wildcards
    scores = predict_sample(
        list(snakemake.input.dna),
        list(snakemake.input.protein),
        snakemake.input.weights,
        snakemake.input.sequences,
        snakemake.input.fasta,
        int(wildcards.L),
        wildcards.dna_model,
        wildcards.protein_model,
        PredictionFiles(
            snakemake.output.predictions,
            snakemake.output.per_chunk,
            snakemake.output.per_sequence,
            snakemake.output.viral_fasta,
            snakemake.output.regions,
            snakemake.output.region_fasta,
        ),
        min_viral_fraction=snakemake.params.min_viral_fraction,
        min_scored_fraction=snakemake.params.min_scored_fraction,
        region_model=RegionModel(**snakemake.params.region_model),
    )
    plot_scores(
        scores,
        snakemake.output.plot,
        tracks=snakemake.params.get("plot_tracks", 8),
        title=f"{wildcards.get('sample', '')} {wildcards.dna_model}+{wildcards.protein_model}",
    )
