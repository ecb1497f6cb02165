# The predict.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.


def classifier_of(wildcards):
    return classifier_weights(wildcards.L, wildcards.dna_model, wildcards.protein_model)


def per_sequence_tables(wildcards=None):
    return [prediction_file(s, L, p, "per_sequence.tsv") for s, L, p in predicted()]


def summary_samples(wildcards=None):
    return [sample for sample, _, _ in predicted()]


def summary_models(wildcards=None):
    """Summary rows name the classifier (chunk length, model pair, width): unique per run."""
    return [classifier_tag(int(L), DNA_MODEL, p) for _, L, p in predicted()]


def predict_targets_strict(wildcards=None):
    """The `predict` target: asking for predictions without a classifier is an error."""
    return predict_targets(strict=True)
