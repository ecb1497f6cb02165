# Model weights: hub downloads (login node: localrule) and locally built stand-ins.


localrules:
    download_model,


rule download_model:
    output:
        f"{MODELS_DIR}/{{model}}/manifest.json",
    wildcard_constraints:
        model=HUB_MODELS_RE,
    params:
        spec=lambda wc: REGISTRY[wc.model],
        directory=lambda wc: f"{MODELS_DIR}/{wc.model}",
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
        spec=lambda wc: REGISTRY[wc.model],
        directory=lambda wc: f"{MODELS_DIR}/{wc.model}",
    log:
        f"{OUT}/logs/build_standin_model/{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/build_standin_model/{{model}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/build_standin.py"


rule download_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "hub"],


rule build_standin_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "standin"],
