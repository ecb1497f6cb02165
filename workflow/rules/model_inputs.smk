# Input and param functions of models.smk, kept apart because Snakemake's linter wants
# functions and rules in separate files. They read the {model} wildcard.


def _model_spec(wildcards):
    """The registry entry of the {model} wildcard."""
    return REGISTRY[wildcards.model]


def _model_directory(wildcards):
    """Where the {model} weights live (the configured directory for provider: local)."""
    return str(model_dir(REGISTRY[wildcards.model], MODELS_DIR))


def _model_weights_ready(wildcards):
    """The file that proves the {model} weights are on disk."""
    return model_ready(wildcards.model)
