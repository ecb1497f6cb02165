# One check per device type (see ENV_REPORT in common.smk): `validation_cpu.json` or
# `validation_cuda.json`, for the device type `device` resolves to.


include: "helpers/environment.smk"


rule validate_environment:
    output:
        ENV_REPORT_PATTERN,
    wildcard_constraints:
        device="cpu|cuda",
    log:
        f"{OUT}/logs/validate_environment_{{device}}.log",
    benchmark:
        f"{OUT}/benchmarks/validate_environment_{{device}}.tsv"
    resources:
        gpu=validation_gpus,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/validate_environment.py"


rule validate:
    input:
        ENV_REPORT,
