"""Rule verify_models: embed the original VirNucPro's reference frames with the downloaded
weights (float32 and the run dtype of each model's precision decision) and compare with the
vectors the original computed; one PASS / FAIL / NOT VERIFIED line per model, and one for
the end-to-end score check (``params.score_check``, None when off).

Exits 1 on FAIL. Snakemake then deletes the outputs of the failed job, so the report is also
written beside the log (``log.report``), which Snakemake keeps.
"""

import json
import sys
from functools import partial

from virnucpro_smk.models.store import set_offline

set_offline()

from virnucpro_smk.classify.score_check import end_to_end_check  # noqa: E402
from virnucpro_smk.io.atomic import write_text_atomic  # noqa: E402
from virnucpro_smk.models.precision import read_precision  # noqa: E402
from virnucpro_smk.models.verify import summary_lines, verify_models, write_report  # noqa: E402
from virnucpro_smk.runtime.gpu_slots import granted_gpus  # noqa: E402
from virnucpro_smk.runtime.logs import rule_logging  # noqa: E402

with rule_logging(snakemake) as log:
    specs = {s.name: s for s in snakemake.params.specs}
    run_dtypes = {
        name: read_precision(path, specs[name], None)["dtype"]
        for name, path in zip(
            snakemake.params.precision_models, snakemake.input.precision, strict=True
        )
        if name in specs
    }
    check = snakemake.params.score_check  # None: the end-to-end check is off
    end_to_end = check and partial(
        end_to_end_check, check, snakemake.params.specs, snakemake.params.model_dirs, run_dtypes
    )
    report = verify_models(
        snakemake.params.specs,
        snakemake.params.model_dirs,
        list(snakemake.input.references),
        snakemake.params.device,
        granted_gpus(snakemake.resources),
        run_dtypes=run_dtypes,
        end_to_end=end_to_end,
    )
    write_text_atomic(snakemake.log.report, json.dumps(report, indent=2) + "\n")
    write_report(report, snakemake.output.json)
    for line in summary_lines(report):
        print(line, flush=True)
    if not report["passed"]:
        failed = [m["model"] for m in report["models"] if m["status"] == "FAIL"]
        log.error("verification FAILED for %s; report: %s", ", ".join(failed), snakemake.log.report)
        sys.exit(1)
