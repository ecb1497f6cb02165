# The train.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.

from virnucpro_smk.runtime.job_plan import training_mem_mb  # noqa: E402


def training_dataset_files(kind):
    """Input function: one identified-frame file of `kind` per training dataset."""
    name = FRAME_FILES[kind]

    def files(wildcards):
        return [f"{DATASET_DIR.format(L=wildcards.L, dataset=d)}/frames/{name}" for d in TRAINING]

    files.__name__ = f"training_{kind}_frames"
    return files


def genome_map_params(wildcards):
    return _genome_maps(wildcards.L)


def seed_weight_outputs():
    """train_classifier's seed checkpoints, with the classifier's wildcards left in place."""
    return expand(SEED_WEIGHTS, seed=TRAIN_SEEDS, allow_missing=True)


def training_mem(wildcards):
    """``mem_mb`` of train_classifier: training streams from the embedding files, so memory
    follows the recipe's block and buffer sizes at the classifier's width, not the frame count
    (runtime/job_plan.training_mem_mb)."""
    recipe = TRAIN_RECIPE
    return training_mem_mb(int(wildcards.width), recipe.block_frames, recipe.buffer_frames)


@one_line_errors()
def train_targets(wildcards=None):
    if not TRAINING:
        raise WorkflowError("nothing to train: set train.datasets (see config/config.yaml)")
    return [
        f"{classifier_dir(L, DNA_MODEL.name, p.name)}/metadata.json"
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
    ]
