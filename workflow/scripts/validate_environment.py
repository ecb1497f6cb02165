"""Rule validate_environment: check torch/transformers/SDPA and the GPU; write a JSON report.

The job's own ``resources.gpu`` tells whether it was given a GPU: with ``device: auto`` a job
given one fails here, in seconds, when CUDA is not usable (it never falls back to the CPU).
"""

import json

from virnucpro_smk.io.atomic import write_text_atomic
from virnucpro_smk.runtime.environment import validate_environment
from virnucpro_smk.runtime.gpu_slots import granted_gpus
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    gpu = granted_gpus(snakemake.resources)
    report = validate_environment(snakemake.wildcards.device, gpu_requested=gpu)
    log.info("environment ok: device %s (resources gpu=%d)", report["device"], gpu)
    write_text_atomic(snakemake.output[0], json.dumps(report, indent=2) + "\n")
