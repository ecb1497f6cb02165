"""Rule plan_extraction_jobs: a model's extraction jobs as runs of rows of the frame index.

Input ``index``: the frame set's frame index (``frames/shards.tsv``; ``sized_by``: the
checkpoint output the job count depends on, when it does); param ``n_jobs``: the model's job
count from the run's extraction plan (``runtime/job_plan.py``, asked by embed.smk's
``job_count``). Output: the model's job table (``frames/jobs/<model>.tsv``, the frame index's
columns), which its extraction jobs read their byte ranges from.
"""

from virnucpro_smk.runtime.job_plan import write_job_table
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    jobs = write_job_table(snakemake.input.index, int(snakemake.params.n_jobs), snakemake.output[0])
    log.info(
        "%s: %d job(s) of %s frames",
        snakemake.wildcards.model,
        len(jobs),
        ", ".join(str(j.n_records) for j in jobs),
    )
