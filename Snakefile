# VirNucPro-SMK: viral sequence identification the VirNucPro way.
# Stages: environment check -> preprocessing (chunks, six frames, shards) -> embeddings
# (DNA + protein language models, one GPU job per shard and model) -> merged features ->
# classifier training / prediction -> ESM2 3B vs FastESM2_650 comparison.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/environment.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/embeddings.smk"
include: "workflow/rules/classifier.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        lambda wc: all_outputs(),


rule validate:
    input:
        ENV_REPORT,


rule preprocess:
    input:
        lambda wc: preprocess_outputs(),


rule embeddings:
    input:
        lambda wc: embedding_outputs(),


rule predict:
    input:
        lambda wc: predict_outputs(strict=True),


rule train:
    input:
        lambda wc: train_outputs(),


rule compare:
    input:
        lambda wc: compare_outputs(),


rule download_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "hub"],


rule build_standin_models:
    input:
        [model_ready(s.name) for s in ACTIVE_MODELS if s.provider == "standin"],


rule download_refseq_all:
    input:
        [
            f
            for d in TRAINING.values()
            for f in (d["fasta"], d["gbff"])
            if f.startswith(f"{REFSEQ_DIR}/")
        ],
