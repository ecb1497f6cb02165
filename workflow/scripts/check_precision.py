"""Rule check_precision: decide once per model the dtype its extraction jobs run in.

Loads the model in true float32 and in the device's reduced dtype, embeds the same sample of
coding-like sequences, and keeps the reduced dtype only when every vector stays within cosine
0.99 of float32 (else float32 with TF32 matmuls). On a CPU: float32, nothing to check.
"""

from virnucpro_smk.models.store import set_offline

set_offline()

from virnucpro_smk.models.precision import decide_precision, write_precision  # noqa: E402
from virnucpro_smk.runtime.gpu_slots import granted_gpus, job_device  # noqa: E402
from virnucpro_smk.runtime.logs import rule_logging  # noqa: E402

with rule_logging(snakemake) as log:
    spec = snakemake.params.spec
    gpu = granted_gpus(snakemake.resources)
    with job_device(snakemake.params.device, gpu) as device:
        record = decide_precision(spec, snakemake.params.model_dir, device)
    log.info(
        "%s: run in %s%s (min cosine %s)",
        spec.name,
        record["dtype"],
        " with TF32 matmuls" if record["allow_tf32"] else "",
        record["min_cosine"],
    )
    write_precision(record, snakemake.output[0])
