# Config and sample sheet validation, the model registry, path patterns, input functions and
# the target lists of every stage. Rules call the named functions defined here.
import re
import sys
from dataclasses import asdict
from functools import cache
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from virnucpro_smk.preprocess.chunk_counts import cached_count, count_chunks  # noqa: E402
from virnucpro_smk.runtime.config_checks import (  # noqa: E402
    SAMPLE_NAME_PATTERN,
    check_config,
    check_downloaded_revision,
    load_sample_sheet,
    one_line_errors,
    shared_fasta_warnings,
)
from virnucpro_smk.runtime.environment import gpu_request  # noqa: E402
from virnucpro_smk.classify.regions import RegionModel  # noqa: E402
from virnucpro_smk.errors import InputError  # noqa: E402
from virnucpro_smk.models.store import model_dir  # noqa: E402
from virnucpro_smk.formats.frame_index import FRAME_INDEX as FRAME_INDEX_TABLE  # noqa: E402
from virnucpro_smk.preprocess.shards import group_spans  # noqa: E402
from virnucpro_smk.runtime.job_sizing import (  # noqa: E402
    extraction_mem_mb,
    gpu_jobs,
    pair_jobs,
    relative_costs,
    sample_records_per_job,
    training_mem_mb,
)
from virnucpro_smk.classify.recipe import TrainConfig  # noqa: E402
from virnucpro_smk.models.registry import (  # noqa: E402
    classifier_tag,
    configured_model,
    feature_width,
    parse_registry,
    select_models,
)
from virnucpro_smk.preprocess.training_table import (  # noqa: E402
    genome_map_of,
    load_training_table,
)

with one_line_errors():
    check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")


def _chunk_lengths(value):
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def _load_samples(path):
    with one_line_errors():
        samples = load_sample_sheet(path)
    for warning in shared_fasta_warnings(samples):
        logger.warning(f"Warning: sample sheet {path}: {warning}")
    return samples


with one_line_errors():
    REGISTRY = parse_registry(config["models"])
    DNA_MODEL, PROTEIN_MODELS = select_models(
        REGISTRY, config["dna_model"], list(config["protein_models"])
    )
    for _spec in [DNA_MODEL, *PROTEIN_MODELS]:
        check_downloaded_revision(_spec, config["models_dir"])
# Work of a chunk through each model, in chunks of the run's DNA model (registry
# gflop_per_token x tokens per frame): what sizes each model's extraction jobs.
RELATIVE_COST = relative_costs(DNA_MODEL, REGISTRY.values())


# Config sections with every default filled in by check_config from the schema (the one
# place defaults live; config/README.md lists them). Rule params hold their plain values
# (Snakemake records them for reruns); rule scripts build the package's typed settings from
# them (CallThresholds, RegionModel, TrainConfig, SplitSettings, CompareSettings; the speed
# knobs, ExtractionSettings, from the config).
TRAIN = config["train"]
PREDICT = config["predict"]
EXTRACTION = config["extraction"]
COMPARE = config["compare"]
# The typed settings' own checks, at DAG build rather than in every job.
try:  # predict_sample's viral regions: RegionModel's fields as plain values
    REGION_MODEL = asdict(RegionModel.from_config(PREDICT))
except ValueError as exc:
    raise WorkflowError(f"config keys predict.region_*: {exc}") from None
TRAIN_RECIPE = TrainConfig.from_config(TRAIN["recipe"], TRAIN["seed"])
COMPARE_MODELS = [COMPARE["baseline"], COMPARE["candidate"]]
CHUNKS_PER_GPU_JOB = int(config["chunks_per_gpu_job"])
MIN_CHUNKS_PER_GPU_JOB = int(config["min_chunks_per_gpu_job"])
REFSEQ_DIR = config["refseq_dir"].rstrip("/")
with one_line_errors():
    TRAINING = load_training_table(TRAIN["datasets"], REFSEQ_DIR)
GENBANK_DATASETS = [n for n, d in TRAINING.items() if d["gbff"]]
FASTA_DATASETS = [n for n in TRAINING if n not in GENBANK_DATASETS]
SAMPLES = _load_samples(config["samples"])
CHUNK_LENGTHS = _chunk_lengths(config["chunk_length"])
MODELS_DIR = config["models_dir"].rstrip("/")
ACTIVE_MODELS = [DNA_MODEL, *PROTEIN_MODELS]

# Path patterns. Samples and training data live in separate trees, so no sample name can
# collide with a training dataset; `unit` is either `samples/<sample>` or `training`, the two
# kinds of frame sets that extraction jobs embed.
OUT = config["outdir"].rstrip("/")
SAMPLE_DIR = f"{OUT}/samples/{{sample}}/chunk{{L}}"
UNIT_DIR = f"{OUT}/{{unit}}/chunk{{L}}"
TRAINING_DIR = f"{OUT}/training/chunk{{L}}"
# the comparison's held-out test fragments (cut from the test genomes, preprocessed and
# scored as predict does a sample): a third kind of frame set, the unit `heldout`
HELDOUT_DIR = f"{OUT}/heldout/chunk{{L}}"
DATASET_DIR = f"{TRAINING_DIR}/datasets/{{dataset}}"
PAIR_DIR = f"{SAMPLE_DIR}/{{dna_model}}+{{protein_model}}"
# the names registry.classifier_tag gives (checkpoint keys and summary rows use that function)
CLASSIFIER_TAG = "{L}bp_{dna_model}+{protein_model}_{width}d"
CLASSIFIER_DIR = f"{OUT}/models/{CLASSIFIER_TAG}"
TRAIN_BENCHMARK = f"{OUT}/benchmarks/train_classifier/{CLASSIFIER_TAG}.tsv"
HELDOUT_SCORE_BENCHMARK = f"{OUT}/benchmarks/score_heldout/{CLASSIFIER_TAG}.tsv"
# every training seed's checkpoint (the first is also the classifier's model.safetensors)
TRAIN_SEEDS = [TRAIN["seed"] + k for k in range(TRAIN["seeds"])]
SEED_WEIGHTS = f"{CLASSIFIER_DIR}/seeds/{{seed}}/model.safetensors"
EMBEDDING = "embeddings/{kind}/{model}/shard_{shard}.safetensors"
# the frame index (fine byte-range rows, from the frames alone) and each model's job table
# (its extraction jobs as runs of index rows: job counts differ between models)
FRAME_INDEX = f"{UNIT_DIR}/frames/shards.tsv"
JOB_TABLE = f"{UNIT_DIR}/frames/jobs/{{model}}.tsv"
EXTRACTION_BENCHMARK = (
    f"{OUT}/benchmarks/extract_embeddings/{{unit}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.tsv"
)
# per-job figures of an extraction job (timers, NVML GPU use) for benchmarks and reports
EXTRACTION_STATS = (
    f"{OUT}/benchmarks/extract_embeddings/{{unit}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.json"
)
FRAME_FILES = {"dna": "identified_nucleotide.fa", "protein": "identified_protein.faa"}
CHUNK_COUNT_CACHE = ".snakemake/virnucpro/chunk_counts"


def _alternatives(names):
    """Regex matching exactly these names (or nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


def _models_of(kind=None, provider=None):
    return [
        n for n, s in REGISTRY.items() if kind in (None, s.kind) and provider in (None, s.provider)
    ]


HUB_MODELS_RE = _alternatives(_models_of(provider="hub"))
STANDIN_MODELS_RE = _alternatives(_models_of(provider="standin"))


wildcard_constraints:
    sample=SAMPLE_NAME_PATTERN,
    unit=rf"samples/{SAMPLE_NAME_PATTERN}|training|heldout",
    L=r"\d+",
    shard=r"\d{4}",
    kind=r"dna|protein",
    model=_alternatives(REGISTRY),
    dataset=_alternatives(TRAINING),
    dna_model=_alternatives(_models_of(kind="dna")),
    protein_model=_alternatives(_models_of(kind="protein")),


# ---- how much work: shard counts known before any job runs -------------------------------


@cache  # asked for by every job's input functions; the on-disk cache serves later runs
@one_line_errors()
def sample_chunks(sample, chunk_length):
    """Chunks of a sample (cached on the input's size and mtime: a rerun does not rescan)."""
    try:
        return cached_count(SAMPLES[sample], chunk_length, count_chunks, CHUNK_COUNT_CACHE)
    except (InputError, OSError) as exc:
        raise WorkflowError(f"sample {sample!r}: {exc}") from None


def training_shard_index(chunk_length):
    """The training set's frame index, once drawn (build_training_set is a checkpoint: its
    selected frames, hence its jobs, are known only then)."""
    return checkpoints.build_training_set.get(L=chunk_length).output.shard_index


def _heldout_fasta(chunk_length):
    """The held-out fragments (cut_test_fragments is a checkpoint: which genomes are test
    genomes, hence the fragments and their jobs, are known once the manifest is drawn)."""
    return checkpoints.cut_test_fragments.get(L=str(chunk_length)).output.fasta


def heldout_fasta(wildcards):
    return _heldout_fasta(wildcards.L)


def heldout_chunks(chunk_length):
    """Chunks of the held-out fragments (once they are cut)."""
    fasta = _heldout_fasta(chunk_length)
    with one_line_errors():
        return cached_count(fasta, int(chunk_length), count_chunks, CHUNK_COUNT_CACHE)


def unit_chunks(unit, chunk_length):
    """Chunks of a sample or of the held-out fragments (the training set counts frames)."""
    if unit == "heldout":
        return heldout_chunks(int(chunk_length))
    return sample_chunks(unit.removeprefix("samples/"), int(chunk_length))


@cache
def _read_index(path, mtime_ns, size):
    return tuple(FRAME_INDEX_TABLE.read(path))


def _training_index(path):
    """The frame index, read once per version of the file (a rerun checkpoint rewrites it
    after a first DAG build read the old one)."""
    stat = Path(path).stat()
    return _read_index(path, stat.st_mtime_ns, stat.st_size)


def training_frames(chunk_length):
    """Frames of the drawn training set (what its jobs are sized by)."""
    return sum(s.n_records for s in _training_index(training_shard_index(chunk_length)))


def n_jobs(unit, chunk_length, model):
    """Extraction jobs of ``model`` over a frame set: samples by their chunk count at DAG
    build, the held-out fragments by theirs once cut, the training set by its drawn frames;
    each model by its own work (chunks times its cost relative to the DNA model), so a
    protein model fills the GPUs while the DNA model keeps few, long jobs
    (runtime/job_sizing.gpu_jobs); a protein model's count is raised where DNA + protein
    jobs then fill whole rounds of the GPUs and end sooner (job_sizing.pair_jobs)."""
    if unit == "training":
        work = training_frames(chunk_length)
    else:
        work = unit_chunks(unit, chunk_length)
    if model == DNA_MODEL.name:
        return gpu_jobs(work, CHUNKS_PER_GPU_JOB, GPUS, MIN_CHUNKS_PER_GPU_JOB)
    _, jobs = pair_jobs(
        work, CHUNKS_PER_GPU_JOB, GPUS, RELATIVE_COST[model], MIN_CHUNKS_PER_GPU_JOB
    )
    return jobs


def job_count(wildcards):
    """Params of plan_extraction_jobs: the model's job count over the frame set."""
    return n_jobs(wildcards.unit, wildcards.L, wildcards.model)


def job_count_source(wildcards):
    """Input of plan_extraction_jobs naming the checkpoint its job count depends on (Snakemake
    requires it, e.g. in a remote job): the held-out fragments, or the training manifest."""
    if wildcards.unit == "heldout":
        return heldout_fasta(wildcards)
    if wildcards.unit == "training":
        return checkpoints.build_training_set.get(L=wildcards.L).output.manifest
    return []


def extraction_mem(wildcards):
    """``mem_mb`` of an extraction job from its size: the training job's record count (its
    run of index rows), or a sample job's chunks (records are not held as a matrix, so this
    stays bounded)."""
    jobs = n_jobs(wildcards.unit, wildcards.L, wildcards.model)
    if wildcards.unit == "training":
        index = _training_index(training_shard_index(wildcards.L))
        return extraction_mem_mb(group_spans(index, jobs)[int(wildcards.shard)].n_records)
    chunks = unit_chunks(wildcards.unit, wildcards.L)
    return extraction_mem_mb(sample_records_per_job(chunks, jobs))


def shard_ids(unit, chunk_length, model):
    return [f"{i:04d}" for i in range(n_jobs(unit, chunk_length, model))]


def embedding_files(unit, chunk_length, kind, model):
    pattern = f"{UNIT_DIR}/{EMBEDDING}"
    return [
        pattern.format(unit=unit, L=chunk_length, kind=kind, model=model, shard=s)
        for s in shard_ids(unit, chunk_length, model)
    ]


# ---- input functions ---------------------------------------------------------------------


def sample_fasta(wildcards):
    return SAMPLES[wildcards.sample]


def dataset_fasta(wildcards):
    """A dataset's FASTA; GenBank datasets may have none (the builder reads the ORIGIN)."""
    return TRAINING[wildcards.dataset]["fasta"] or []


def dataset_gbff(wildcards):
    return TRAINING[wildcards.dataset]["gbff"]


def frames_of_kind(wildcards):
    """Extraction reads its byte range straight from the identified file of its kind."""
    unit_dir = UNIT_DIR.format(unit=wildcards.unit, L=wildcards.L)
    return f"{unit_dir}/frames/{FRAME_FILES[wildcards.kind]}"


def model_ready(name):
    """The file that proves a model's weights are on disk (what extraction jobs wait for)."""
    spec = REGISTRY[name]
    if spec.provider == "local":
        return str(model_dir(spec, MODELS_DIR))
    return f"{MODELS_DIR}/{name}/manifest.json"


def model_ready_of(wildcards):
    return model_ready(wildcards.model)


def model_spec(wildcards):
    return REGISTRY[wildcards.model]


def model_path(wildcards):
    return str(model_dir(REGISTRY[wildcards.model], MODELS_DIR))


# GPUs each GPU job asks for, decided once at DAG time (no torch import): cuda -> 1, cpu -> 0,
# auto -> 1 when this machine has an NVIDIA driver, else 0 (the jobs then run on the CPU on
# purpose). A job given a GPU never falls back to the CPU: it fails naming the cause.
GPU_REQUEST = gpu_request(config["device"])
# The device type GPU jobs run on, resolved from `device` the same way: what their `params`
# hold, so `auto` and `cpu` on a machine without a GPU are the same run (no rerun), while
# moving finished work from the CPU to CUDA (different numbers) reruns it.
JOB_DEVICE = "cuda" if GPU_REQUEST else "cpu"
# The environment check of that device type. Its own file per device type, and an ancient()
# input of GPU jobs: a failing check (e.g. `device=cuda` on a CPU-only machine: Snakemake
# deletes the failed job's output) never removes the check finished work depends on, and a
# repeated check never makes finished work look out of date.
ENV_REPORT_PATTERN = f"{OUT}/env/validation_{{device}}.json"
ENV_REPORT = ENV_REPORT_PATTERN.format(device=JOB_DEVICE)


def _gpus_of_run():
    """GPUs the run fills with extraction jobs: config `gpus`, else `--resources gpu=N`,
    else 1; 1 when jobs run on the CPU."""
    if not GPU_REQUEST:
        return 1
    if int(config["gpus"]):
        return int(config["gpus"])
    granted = getattr(workflow.global_resources.get("gpu"), "value", None)
    return max(1, int(granted or 1))


GPUS = _gpus_of_run()


def gpu_count(wildcards=None):
    return GPU_REQUEST


def validation_gpus(wildcards):
    """The environment check asks for a GPU exactly when it checks CUDA."""
    return 1 if wildcards.device == "cuda" else 0


def model_settings(wildcards):
    """The model's settings that change its vectors (a rerun trigger; the registry's spec
    itself is not one: Snakemake cannot record a dataclass as a parameter)."""
    return REGISTRY[wildcards.model].result_settings()


def training_dataset_files(kind):
    """Input function: one identified-frame file of `kind` per training dataset."""
    name = FRAME_FILES[kind]

    def files(wildcards):
        return [f"{DATASET_DIR.format(L=wildcards.L, dataset=d)}/frames/{name}" for d in TRAINING]

    files.__name__ = f"training_{kind}_frames"
    return files


def _genome_maps(L):
    """Per training dataset, its genome map ("" when each record is its own genome)."""
    return {
        d: genome_map_of(spec, f"{DATASET_DIR.format(L=L, dataset=d)}/genomes.tsv")
        for d, spec in TRAINING.items()
    }


def training_genome_maps(wildcards):
    """Input function: the genome maps the training split reads (GenBank side outputs and the
    training table's `genomes` files)."""
    return [path for path in _genome_maps(wildcards.L).values() if path]


def genome_map_params(wildcards):
    return _genome_maps(wildcards.L)


def extraction_threads(wildcards):
    """An extraction job's fair share of the cores on a GPU run: cores // GPUs, at least its
    loader workers. Jobs of every frame set (a sample, the training set, the held-out
    fragments) then fill a node's GPUs side by side (`--cores 16 --resources gpu=8`: 2
    threads each). On the CPU, and without --cores (cluster executors: each job has its own
    node), the loader workers, as sample extraction always took."""
    workers = max(1, EXTRACTION["loader_workers"])
    if not GPU_REQUEST:
        return workers
    try:
        return max(workers, workflow.cores // GPUS)
    except WorkflowError:
        return workers


def training_mem(wildcards):
    """``mem_mb`` of train_classifier: training streams from the embedding files, so memory
    follows the recipe's block and buffer sizes at the classifier's width, not the frame count
    (runtime/job_sizing.training_mem_mb)."""
    recipe = TRAIN_RECIPE
    return training_mem_mb(int(wildcards.width), recipe.block_frames, recipe.buffer_frames)


def pair_embeddings(frame_set, kind):
    """Input function: embeddings of the job's DNA or protein model for the training set
    (``frame_set="training"``), the held-out fragments (``"heldout"``) or the job's sample
    (``"sample"``)."""

    def files(wildcards):
        model = wildcards.dna_model if kind == "dna" else wildcards.protein_model
        unit = f"samples/{wildcards.sample}" if frame_set == "sample" else frame_set
        return embedding_files(unit, wildcards.L, kind, model)

    files.__name__ = f"{frame_set}_{kind}_embeddings"
    return files


def classifier_files(pattern, L, dna_model, protein_model):
    """``pattern`` (CLASSIFIER_DIR or TRAIN_BENCHMARK) filled for a model pair."""
    width = feature_width(REGISTRY[dna_model], REGISTRY[protein_model])
    return pattern.format(L=L, dna_model=dna_model, protein_model=protein_model, width=width)


def classifier_dir(L, dna_model, protein_model):
    return classifier_files(CLASSIFIER_DIR, L, dna_model, protein_model)


def classifier_weights(L, dna_model, protein_model):
    """A configured checkpoint (e.g. a converted original model), else the one `train` makes."""
    tag = classifier_tag(int(L), REGISTRY[dna_model], REGISTRY[protein_model])
    if tag in PREDICT["checkpoints"]:
        return PREDICT["checkpoints"][tag]
    if not TRAINING:
        raise WorkflowError(
            f"no classifier for {tag}: set predict.checkpoints.{tag} to a checkpoint "
            "(see `virnucpro-smk convert-legacy`) or train.datasets to train one"
        )
    return f"{classifier_dir(L, dna_model, protein_model)}/model.safetensors"


def classifier_of(wildcards):
    return classifier_weights(wildcards.L, wildcards.dna_model, wildcards.protein_model)


def compare_files(name):
    """Input function: a file of each compared model's classifier directory."""

    def files(wildcards):
        return [f"{classifier_dir(wildcards.L, DNA_MODEL.name, p)}/{name}" for p in COMPARE_MODELS]

    files.__name__ = f"compare_{name.replace('.', '_')}"
    return files


def seed_weights(wildcards):
    """Every training seed's checkpoint of the job's classifier (train_classifier outputs)."""
    return expand(SEED_WEIGHTS, seed=TRAIN_SEEDS, **wildcards)


def seed_weight_outputs():
    """train_classifier's seed checkpoints, with the classifier's wildcards left in place."""
    return expand(SEED_WEIGHTS, seed=TRAIN_SEEDS, allow_missing=True)


def dataset_source_params(wildcards):
    """Per training dataset what cut_test_fragments and cluster_genomes read: its table row,
    its preprocessing's sequences.tsv (record lengths) and genome map."""
    return {
        d: {
            "spec": spec,
            "sequences": f"{DATASET_DIR.format(L=wildcards.L, dataset=d)}/sequences.tsv",
            "genome_map": path,
        }
        for (d, spec), path in zip(
            TRAINING.items(), _genome_maps(wildcards.L).values(), strict=True
        )
    }


def dataset_sources(wildcards):
    """Input function: every file cut_test_fragments and cluster_genomes read (sequences,
    lengths, maps)."""
    params = dataset_source_params(wildcards)
    files = [p["sequences"] for p in params.values()]
    files += [f for p in params.values() for f in (p["spec"]["fasta"], p["spec"]["gbff"]) if f]
    return files + training_genome_maps(wildcards)


def compare_embeddings(wildcards):
    """Per compared model, the training embeddings (identity: model, chunk length, dtype)."""
    return {p: embedding_files("training", wildcards.L, "protein", p) for p in COMPARE_MODELS}


def _compared_extraction_files(pattern, L):
    """Per compared model, ``pattern`` filled for each of its training extraction jobs."""
    return {
        p: [
            pattern.format(unit="training", L=L, kind="protein", model=p, shard=s)
            for s in shard_ids("training", L, p)
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


def every_benchmark_dir(wildcards=None):
    """Where all benchmark files go: the comparison checks which jobs overlapped the timed ones."""
    return f"{OUT}/benchmarks"


def timing_models():
    """The models a speed run loads: the DNA model, then baseline and candidate."""
    return [DNA_MODEL.name, *COMPARE_MODELS]


def timing_model_files(wildcards):
    """Input function of time_predict: each model's weights and precision decision."""
    return [
        f for name in timing_models() for f in (model_ready(name), f"{OUT}/precision/{name}.json")
    ]


def timing_params(wildcards):
    """What time_predict's runs load: registry entries, weight directories, precision
    files and the first seed's classifier (predict's checkpoint) of each protein model."""
    names = timing_models()
    return {
        "registry": {n: config["models"][n] for n in names},
        "model_dirs": {n: str(model_dir(REGISTRY[n], MODELS_DIR)) for n in names},
        "precision": {n: f"{OUT}/precision/{n}.json" for n in names},
        "checkpoints": {
            p: f"{classifier_dir(wildcards.L, DNA_MODEL.name, p)}/model.safetensors"
            for p in COMPARE_MODELS
        },
    }


def all_cores(wildcards=None):
    """Threads of the timing job: every core, so that no other job of the workflow runs
    beside the timed runs (cluster executors give the job a node of its own)."""
    try:
        return max(1, workflow.cores)
    except WorkflowError:
        return 1


def run_gpus(wildcards=None):
    """GPUs of the timing job: every GPU of the run (none on a CPU run)."""
    return GPUS if GPU_REQUEST else 0


def compared_standins(wildcards=None):
    """Compared models (and the DNA model) that are stand-ins: the decision is then
    inconclusive whatever the figures say."""
    return [n for n in timing_models() if REGISTRY[n].is_standin]


SPEED_RUNS = f"{OUT}/speed/predict_runs_chunk{{L}}.json"
TIMING_BENCHMARK = f"{OUT}/benchmarks/time_predict/chunk{{L}}.tsv"


def training_benchmarks(wildcards):
    return {
        p: classifier_files(TRAIN_BENCHMARK, wildcards.L, DNA_MODEL.name, p) for p in COMPARE_MODELS
    }


def verify_precision_models(wildcards=None):
    """Models whose run dtype verify_models needs: those with reference vectors, and the
    end-to-end check's two models."""
    names = list(VERIFY_PLAN.with_reference)
    if VERIFY_SCORE_CHECK:
        names += [VERIFY_SCORE_CHECK[k] for k in ("dna", "protein")]
    return list(dict.fromkeys(n for n in names if n in REGISTRY))


def verify_precision_files(wildcards):
    return [f"{OUT}/precision/{n}.json" for n in verify_precision_models()]


def verify_end_to_end_files(wildcards):
    """The classifier, input and scores of the end-to-end check (none when it is off)."""
    if not VERIFY_SCORE_CHECK:
        return []
    return [VERIFY_SCORE_CHECK[k] for k in ("checkpoint", "fasta", "original")]


def prediction_file(sample, L, protein, name):
    """One of PREDICTION_FILES of a sample, chunk length and protein model."""
    pair_dir = PAIR_DIR.format(
        sample=sample, L=L, dna_model=DNA_MODEL.name, protein_model=protein.name
    )
    return f"{pair_dir}/{name}"


def per_sequence_tables(wildcards=None):
    return [prediction_file(s, L, p, "per_sequence.tsv") for s, L, p in _predicted()]


def summary_samples(wildcards=None):
    return [sample for sample, _, _ in _predicted()]


def summary_models(wildcards=None):
    """Summary rows name the classifier (chunk length, model pair, width): unique per run."""
    return [classifier_tag(int(L), DNA_MODEL, p) for _, L, p in _predicted()]


# ---- targets -----------------------------------------------------------------------------


def has_classifier(L, protein):
    tag = classifier_tag(int(L), DNA_MODEL, protein)
    return bool(TRAINING) or tag in PREDICT["checkpoints"]


def _predicted():
    return [
        (sample, L, p)
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
        if has_classifier(L, p)
    ]


def preprocess_targets(wildcards=None):
    return [
        f"{SAMPLE_DIR.format(sample=sample, L=L)}/{name}"
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for name in ("sequences.tsv", "frames/shards.tsv")
    ]


def embedding_targets(wildcards=None):
    return [
        path
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for spec in ACTIVE_MODELS
        for path in embedding_files(f"samples/{sample}", L, spec.kind, spec.name)
    ]


PREDICTION_FILES = (
    "predictions.tsv",
    "per_chunk.tsv",
    "per_sequence.tsv",
    "viral.fna",
    "regions.tsv",
    "viral_regions.fna",
    "scores.png",
)


@one_line_errors()
def predict_targets(wildcards=None, strict=False):
    """Prediction files; with ``strict``, a missing classifier is an error, not a skip."""
    if strict:
        for L in CHUNK_LENGTHS:
            for p in PROTEIN_MODELS:
                classifier_weights(L, DNA_MODEL.name, p.name)
    files = [
        prediction_file(sample, L, p, name)
        for sample, L, p in _predicted()
        for name in PREDICTION_FILES
    ]
    return [*files, f"{OUT}/summary.tsv"] if files else []


@one_line_errors()
def train_targets(wildcards=None):
    if not TRAINING:
        raise WorkflowError("nothing to train: set train.datasets (see config/config.yaml)")
    return [
        f"{classifier_dir(L, DNA_MODEL.name, p.name)}/metadata.json"
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
    ]


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


def predict_targets_strict(wildcards=None):
    """The `predict` target: asking for predictions without a classifier is an error."""
    return predict_targets(strict=True)


def all_targets(wildcards=None):
    return [ENV_REPORT, *preprocess_targets(), *embedding_targets(), *predict_targets()]


def refseq_url(wildcards):
    return f"{config['refseq_url']}/{wildcards.division}/{wildcards.file}"


def refseq_files():
    """RefSeq release files named by the training datasets (fetched by download_refseq)."""
    return [
        f
        for d in TRAINING.values()
        for f in (d["fasta"], d["gbff"])
        if f.startswith(f"{REFSEQ_DIR}/")
    ]
