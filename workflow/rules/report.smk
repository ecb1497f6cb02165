# ESM2 3B vs FastESM2_650 comparison (same DNA model, manifest, split and seeds): the accuracy
# verdict on the held-out fragments scored as predict does (evaluate.smk), the speed verdict
# from dedicated, repeated end-to-end predict runs (time_predict), and the combined decision.


include: "helpers/report.smk"


# predict end to end on the held-out fragments, baseline and candidate alternating, each
# stage a fresh process; one job holding every core and the run's GPUs, so no other job of
# the workflow runs beside the timed runs.
rule time_predict:
    input:
        fasta=heldout_fasta,
        models=timing_model_files,
        classifiers=compare_files("model.safetensors"),
        # not read: the timed runs come after every other job compare needs, so none of
        # them runs beside the runs, on a cluster too
        after=compare_files("heldout_sequences.tsv"),
        env=ancient(ENV_REPORT),
    output:
        runs=SPEED_RUNS,
    params:
        models=COMPARE_MODELS,
        dna_model=DNA_MODEL.name,
        loads=timing_params,
        repeats=COMPARE["speed_repeats"],
        device=JOB_DEVICE,
        ambiguous=config["ambiguous_codons"],
        predict=PREDICT_SETTINGS,
    log:
        f"{OUT}/logs/time_predict/chunk{{L}}.log",
    benchmark:
        TIMING_BENCHMARK
    threads: all_cores
    resources:
        gpu=run_gpus,
        mem_mb=16000,
        runtime=240,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/time_predict.py"


rule compare_models:
    input:
        metadata=compare_files("metadata.json"),
        tests=compare_files("test_predictions.tsv"),
        heldout_chunks=compare_files("heldout_chunks.tsv"),
        heldout_sequences=compare_files("heldout_sequences.tsv"),
        fragments=f"{HELDOUT_DIR}/fragments.tsv",
        # the checkpoint's output: the params list the held-out extraction jobs it sized
        fragments_fasta=f"{HELDOUT_DIR}/fragments.fa",
        manifest_summary=f"{TRAINING_DIR}/training_manifest.json",
        # the checkpoint's output: the params list the training shards it sized
        manifest=f"{TRAINING_DIR}/training_manifest.tsv",
        speed_runs=SPEED_RUNS,
        timing_benchmark=TIMING_BENCHMARK,
    output:
        html=report(
            f"{OUT}/reports/comparison_chunk{{L}}.html",
            category="Comparison",
            labels={"report": "comparison {L} bp"},
        ),
        md=f"{OUT}/reports/comparison_chunk{{L}}.md",
        json=f"{OUT}/reports/comparison_chunk{{L}}.json",
        png=report(
            f"{OUT}/reports/roc_pr_chunk{{L}}.png",
            category="Comparison",
            caption="../report/comparison.rst",
            labels={"figure": "ROC and PR {L} bp"},
        ),
        calls=f"{OUT}/reports/calls_chunk{{L}}.tsv",
    params:
        models=COMPARE_MODELS,
        standins=compared_standins,
        extraction_benchmarks=extraction_benchmarks,
        extraction_stats=compare_extraction_stats,
        embeddings=compare_embeddings,
        train_benchmarks=training_benchmarks,
        benchmark_dir=every_benchmark_dir,
        settings={**COMPARE, **CALL_SETTINGS, "region_model": REGION_MODEL},
    log:
        f"{OUT}/logs/compare_models/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/compare_models/chunk{{L}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/compare_models.py"


rule compare:
    input:
        compare_targets,
