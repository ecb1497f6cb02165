"""Rule validate_environment: check torch/transformers/SDPA and the GPU; write a JSON report."""

import json

from virnucpro_smk.atomic import write_text_atomic
from virnucpro_smk.envcheck import validate_environment
from virnucpro_smk.logs import rule_logging

with rule_logging(snakemake) as log:
    report = validate_environment(snakemake.params.device)
    log.info("environment ok: device %s", report["device"])
    write_text_atomic(snakemake.output[0], json.dumps(report, indent=2) + "\n")
