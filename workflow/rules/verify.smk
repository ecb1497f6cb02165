# `snakemake verify_models`: embed the original VirNucPro's four reference frames with the
# downloaded weights (float32 and the dtype the run uses) and compare with the vectors the
# original computed; with verify.checkpoint, also score its input end to end against its
# prediction_results.txt.


include: "helpers/verify.smk"


rule verify_models:
    input:
        # weights of the models that have reference vectors (the others are only reported)
        models=[model_ready(n) for n in VERIFY_PLAN.with_reference],
        references=VERIFY_PLAN.reference_files,
        # the dtype each model's extraction jobs use: the reduced-precision check runs in it
        precision=verify_precision_files,
        end_to_end=verify_end_to_end_files,
        env=ancient(ENV_REPORT),
    output:
        json=f"{OUT}/verify/models.json",
        tsv=f"{OUT}/verify/models.tsv",
    params:
        specs=VERIFY_PLAN.specs,
        model_dirs={s.name: str(model_dir(s, MODELS_DIR)) for s in VERIFY_PLAN.specs},
        precision_models=verify_precision_models,
        device=JOB_DEVICE,
        score_check=VERIFY_SCORE_CHECK,
    log:
        main=f"{OUT}/logs/verify_models.log",
        # kept by Snakemake when the job fails (FAIL deletes the outputs)
        report=f"{OUT}/logs/verify_models.json",
    benchmark:
        f"{OUT}/benchmarks/verify_models.tsv"
    resources:
        gpu=gpu_count,
        mem_mb=32000,
        runtime=60,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/verify_models.py"
