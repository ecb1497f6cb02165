"""Rule predict_sample: score every frame of a sample and summarise per chunk and sequence."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.predict import predict_sample

with rule_logging(snakemake):
    predict_sample(
        snakemake.input.shards,
        snakemake.input.weights,
        snakemake.input.sequences,
        snakemake.output.predictions.rsplit("/", 1)[0],
        snakemake.wildcards.dna_model,
        snakemake.wildcards.protein_model,
        plot=snakemake.output.plot,
        plot_first_n=snakemake.params.plot_first_n,
        min_viral_fraction=snakemake.params.min_viral_fraction,
    )
