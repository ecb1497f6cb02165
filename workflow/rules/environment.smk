rule validate_environment:
    output:
        ENV_REPORT,
    params:
        device=config["device"],
    log:
        f"{OUT}/logs/validate_environment.log",
    benchmark:
        f"{OUT}/benchmarks/validate_environment.tsv"
    resources:
        gpu=gpu_count,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/validate_environment.py"


rule validate:
    input:
        ENV_REPORT,
