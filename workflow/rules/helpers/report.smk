# The report.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.

from virnucpro_smk.models.registry import configured_model  # noqa: E402

SPEED_RUNS = f"{OUT}/speed/predict_runs_chunk{{L}}.json"
TIMING_BENCHMARK = f"{OUT}/benchmarks/time_predict/chunk{{L}}.tsv"


def compare_files(name):
    """Input function: a file of each compared model's classifier directory."""

    def files(wildcards):
        return [f"{classifier_dir(wildcards.L, DNA_MODEL.name, p)}/{name}" for p in COMPARE_MODELS]

    files.__name__ = f"compare_{name.replace('.', '_')}"
    return files


def timing_models():
    """The models a speed run loads: the DNA model, then baseline and candidate."""
    return [DNA_MODEL.name, *COMPARE_MODELS]


def timing_model_files(wildcards):
    """Input function of time_predict: each model's weights and precision decision."""
    return [
        f for name in timing_models() for f in (model_ready(name), PRECISION.format(model=name))
    ]


def timing_params(wildcards):
    """What time_predict's runs load: registry entries, weight directories, precision
    files and the first seed's classifier (predict's checkpoint) of each protein model."""
    names = timing_models()
    return {
        "registry": {n: config["models"][n] for n in names},
        "model_dirs": {n: str(model_dir(REGISTRY[n], MODELS_DIR)) for n in names},
        "precision": {n: PRECISION.format(model=n) for n in names},
        "checkpoints": {
            p: f"{classifier_dir(wildcards.L, DNA_MODEL.name, p)}/model.safetensors"
            for p in COMPARE_MODELS
        },
    }


def all_cores(wildcards=None):
    """Threads of the timing job: every core, so that no other job of the workflow runs
    beside the timed runs (cluster executors give the job a node of its own)."""
    return max(1, known_cores() or 1)


def run_gpus(wildcards=None):
    """GPUs of the timing job: every GPU of the run (none on a CPU run)."""
    return PLAN.gpus if GPU_REQUEST else 0


def compared_standins(wildcards=None):
    """Compared models (and the DNA model) that are stand-ins: the decision is then
    inconclusive whatever the figures say."""
    return [n for n in timing_models() if REGISTRY[n].is_standin]


def _compared_extraction_files(pattern, L):
    """Per compared model, ``pattern`` filled for each of its training extraction jobs."""
    return {
        p: [
            pattern.format(unit="training", L=L, kind="protein", model=p, shard=job)
            for job in job_numbers("training", L, p)
        ]
        for p in COMPARE_MODELS
    }


def compare_extraction_stats(wildcards):
    """Per compared model, the stats JSON of its training extraction jobs (in-job timers,
    tokens, peak GPU memory: the embedding files hold identity only)."""
    return _compared_extraction_files(EXTRACTION_STATS, wildcards.L)


def extraction_benchmarks(wildcards):
    """Per compared model, the benchmark files of its extraction jobs (wall time, start-up
    and loading included: what the user waits for)."""
    return _compared_extraction_files(EXTRACTION_BENCHMARK, wildcards.L)


def compare_embeddings(wildcards):
    """Per compared model, the training embeddings (identity: model, chunk length, dtype)."""
    return {p: embedding_files("training", wildcards.L, "protein", p) for p in COMPARE_MODELS}


def training_benchmarks(wildcards):
    return {
        p: classifier_files(TRAIN_BENCHMARK, wildcards.L, DNA_MODEL.name, p) for p in COMPARE_MODELS
    }


def every_benchmark_dir(wildcards=None):
    """Where all benchmark files go: the comparison checks which jobs overlapped the timed ones."""
    return f"{OUT}/benchmarks"


@one_line_errors()
def compare_targets(wildcards=None):
    if not TRAINING:
        raise WorkflowError("compare needs training data: set train.datasets")
    for key in ("baseline", "candidate"):
        configured_model(REGISTRY, COMPARE[key], "protein", f"compare.{key}")
    return [
        f"{OUT}/reports/comparison_chunk{L}.{ext}"
        for L in CHUNK_LENGTHS
        for ext in ("html", "md", "json")
    ]
