# One GPU job per (sample, chunk length, model, shard).


rule extract_embeddings:
    input:
        fasta=shard_input,
        model=lambda wc: model_ready(wc.model),
        env=ENV_REPORT,
    output:
        f"{SAMPLE_DIR}/embeddings/{{kind}}/{{model}}/shard_{{shard}}.safetensors",
    params:
        spec=lambda wc: REGISTRY[wc.model],
        model_dir=lambda wc: str(model_dir(REGISTRY[wc.model], MODELS_DIR)),
        device=config["device"],
        loader_workers=EXTRACTION["loader_workers"],
        progress_seconds=EXTRACTION["progress_seconds"],
    log:
        f"{OUT}/logs/extract_embeddings/{{sample}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/extract_embeddings/{{sample}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.tsv"
    threads: max(1, EXTRACTION["loader_workers"])
    resources:
        gpu=gpu_count,
        mem_mb=16000,
        runtime=120,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/extract_embeddings.py"
