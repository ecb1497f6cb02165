rule validate_environment:
    output:
        ENV_REPORT,
    params:
        device=config["device"],
    resources:
        gpu=gpu_count,
    log:
        f"{OUT}/logs/validate_environment.log",
    benchmark:
        f"{OUT}/benchmarks/validate_environment.tsv"
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/validate_environment.py"


rule validate:
    input:
        ENV_REPORT,
