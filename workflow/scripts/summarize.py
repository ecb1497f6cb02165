"""Rule summarize: viral sequences and bases per sample and model pair (summary.tsv)."""

from virnucpro_smk.classify.summary import summarize_lists
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    rows = summarize_lists(
        list(snakemake.input),
        list(snakemake.params.samples),
        list(snakemake.params.models),
        snakemake.output[0],
    )
    log.info("summarised %d sample/model tables into %s", len(rows), snakemake.output[0])
