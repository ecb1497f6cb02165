# The environment.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.


def validation_gpus(wildcards):
    """The environment check asks for a GPU exactly when it checks CUDA."""
    return 1 if wildcards.device == "cuda" else 0
