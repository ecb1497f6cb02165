"""Rule plan_extraction_jobs: a model's extraction jobs as runs of rows of the frame index.

Input ``index``: the frame set's frame index (``frames/shards.tsv``; ``sized_by``: the held-out
fragments, when the job count comes from them); param ``n_jobs`` (the model's job
count, ``n_jobs`` in common.smk). Output: the model's job table, in the frame index's format,
that its extraction jobs read their byte ranges from.
"""

from virnucpro_smk.preprocess.shards import plan_extraction_jobs
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    jobs = plan_extraction_jobs(
        snakemake.input.index, int(snakemake.params.n_jobs), snakemake.output[0]
    )
    log.info(
        "%s: %d job(s) of %s frames",
        snakemake.wildcards.model,
        len(jobs),
        ", ".join(str(j.n_records) for j in jobs),
    )
