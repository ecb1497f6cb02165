"""Rule summarize_predictions: one table across samples and models."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.predict import summarize

with rule_logging(snakemake):
    summarize(
        {
            (row["sample"], row["chunk_length"], row["model"]): path
            for row, path in zip(snakemake.params.rows, snakemake.input, strict=True)
        },
        snakemake.output[0],
    )
