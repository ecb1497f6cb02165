# VirNucPro-SMK: viral sequence identification the VirNucPro way.
# Stages (one rule file each): environment check -> preprocess (chunks, six frames, shards) ->
# models (weights, precision) -> embed (DNA + protein language models, a few long GPU jobs) ->
# train (manifest drawn before embedding, MLP) -> predict (tables, FASTA, figure, summary) ->
# evaluate (held-out test fragments scored as predict does) -> report (ESM2 3B vs
# FastESM2_650 comparison).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/environment.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets,
