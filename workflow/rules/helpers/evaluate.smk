# The evaluate.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.

HELDOUT_SCORE_BENCHMARK = f"{OUT}/benchmarks/score_heldout/{CLASSIFIER_TAG}.tsv"


def seed_weights(wildcards):
    """Every training seed's checkpoint of the job's classifier (train_classifier outputs)."""
    return expand(SEED_WEIGHTS, seed=TRAIN_SEEDS, **wildcards)
