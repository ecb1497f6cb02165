"""Rule extract_embeddings: embed one shard of the identified frames with one model (offline).

Inputs: ``frames`` (identified_nucleotide.fa for DNA models, identified_protein.faa for
protein models), ``job_table`` (the model's job table, frames/jobs/<model>.tsv: this job's
byte range is its row ``shard``), ``precision`` (the model's check_precision JSON). The job's
``resources.gpu`` says whether it was given a GPU.
"""

import time

STARTED = time.perf_counter()  # before the heavy imports: the benchmark wants start-up time

from virnucpro_smk.models.store import set_offline  # noqa: E402

set_offline()

import json  # noqa: E402

from virnucpro_smk.io.atomic import write_text_atomic  # noqa: E402
from virnucpro_smk.models.embeddings import extract_shard  # noqa: E402
from virnucpro_smk.models.extraction_job import ExtractionJob, ExtractionSettings  # noqa: E402
from virnucpro_smk.runtime.gpu_slots import granted_gpus  # noqa: E402
from virnucpro_smk.runtime.logs import rule_logging  # noqa: E402

with rule_logging(snakemake):
    wildcards = dict(snakemake.wildcards.items())
    # which input the shard belongs to (the lead's {unit}; {sample}/{dataset} where used)
    extra = {k: wildcards[k] for k in ("unit", "sample", "dataset") if k in wildcards}
    stats = extract_shard(
        ExtractionJob(
            snakemake.params.spec,
            snakemake.params.model_dir,
            snakemake.input.frames,
            snakemake.input.job_table,
            int(wildcards["shard"]),
            snakemake.output[0],
            int(wildcards["L"]),
            snakemake.input.precision,
            snakemake.params.device,
            extra,
        ),
        # speed and logging only: read from the config, not params (no rerun when changed)
        ExtractionSettings.from_config(snakemake.config["extraction"]),
        gpu_requested=granted_gpus(snakemake.resources),
        started=STARTED,
    )
    # the job's figures (timers, GPU use) where benchmarks and the comparison read them
    write_text_atomic(snakemake.output.stats, json.dumps(stats, indent=1) + "\n")
