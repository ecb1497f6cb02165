# Model weights: hub downloads (login node: localrule), locally built stand-ins, and the
# precision each model runs in (decided once per model, read by every extraction job).


include: "helpers/models.smk"


localrules:
    download_model,


rule download_model:
    output:
        f"{MODELS_DIR}/{{model}}/manifest.json",
    wildcard_constraints:
        model=HUB_MODELS_RE,
    params:
        spec=model_spec,
        directory=model_path,
    log:
        f"{OUT}/logs/download_model/{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/download_model/{{model}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/download_model.py"


rule build_standin_model:
    output:
        f"{MODELS_DIR}/{{model}}/manifest.json",
    wildcard_constraints:
        model=STANDIN_MODELS_RE,
    params:
        spec=model_spec,
        directory=model_path,
    log:
        f"{OUT}/logs/build_standin_model/{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/build_standin_model/{{model}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/build_standin.py"


# float32 vs the device's reduced dtype (bf16, else fp16) on a sample of coding-like
# sequences: the reduced dtype is kept when every cosine >= 0.99, else float32 + TF32.
rule check_precision:
    input:
        model=model_ready_of,
        env=ancient(ENV_REPORT),
    output:
        PRECISION,
    params:
        spec=model_spec,
        settings=model_settings,
        model_dir=model_path,
        device=JOB_DEVICE,
    log:
        f"{OUT}/logs/check_precision/{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/check_precision/{{model}}.tsv"
    resources:
        gpu=gpu_count,
        mem_mb=16000,
        runtime=30,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/check_precision.py"


rule download_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "hub"],


rule build_standin_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "standin"],
