# The models.smk rules' own patterns (its rule file includes this one; Snakemake's lint keeps
# functions out of rule files). Uses only what common.smk defines or includes.

# which rule provides a model's weights: hub downloads, or stand-ins built locally
HUB_MODELS_RE = _alternatives(_models_of(provider="hub"))
STANDIN_MODELS_RE = _alternatives(_models_of(provider="standin"))
