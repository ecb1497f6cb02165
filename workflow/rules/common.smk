# Config and sample sheet validation, the model registry, path patterns, the device, the
# run's extraction plan (helpers/extraction_plan.smk, included below), and the input functions
# and targets more than one stage uses. A stage's own input functions and path patterns live
# beside its rules (rules/<stage>.smk includes helpers/<stage>.smk); nothing here uses them, so
# every rule file depends on this file alone, whatever the order of the includes.
import re
import sys
from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from virnucpro_smk.runtime.config_checks import (  # noqa: E402
    SAMPLE_NAME_PATTERN,
    check_config,
    load_sample_sheet,
    one_line_errors,
    shared_fasta_warnings,
)
from virnucpro_smk.runtime.environment import gpu_request  # noqa: E402
from virnucpro_smk.classify.recipe import TrainConfig  # noqa: E402
from virnucpro_smk.classify.region_model import RegionModel  # noqa: E402
from virnucpro_smk.models.store import check_downloaded_revision, model_dir  # noqa: E402
from virnucpro_smk.models.registry import (  # noqa: E402
    classifier_tag,
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
# predict's call thresholds, as the comparison's rule receives them; with the plot and the
# region model, what the timed predict runs receive
CALL_SETTINGS = {
    "min_viral_fraction": PREDICT["min_viral_fraction"],
    "min_scored_fraction": PREDICT["min_scored_fraction"],
}
PREDICT_SETTINGS = {
    **CALL_SETTINGS,
    "plot_tracks": PREDICT["plot_tracks"],
    "region_model": REGION_MODEL,
}
COMPARE_MODELS = [COMPARE["baseline"], COMPARE["candidate"]]
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
# every training seed's checkpoint (the first is also the classifier's model.safetensors)
TRAIN_SEEDS = [TRAIN["seed"] + k for k in range(TRAIN["seeds"])]
SEED_WEIGHTS = f"{CLASSIFIER_DIR}/seeds/{{seed}}/model.safetensors"
# one extraction job's embedding file: `shard` is the job's number (the file names keep the
# old word for a job, so that finished work is not redone)
EMBEDDING = "embeddings/{kind}/{model}/shard_{shard}.safetensors"
# a model's precision decision (check_precision), read by every job that runs the model
PRECISION = f"{OUT}/precision/{{model}}.json"
EXTRACTION_BENCHMARK = (
    f"{OUT}/benchmarks/extract_embeddings/{{unit}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.tsv"
)
# per-job figures of an extraction job (timers, NVML GPU use) for benchmarks and reports
EXTRACTION_STATS = (
    f"{OUT}/benchmarks/extract_embeddings/{{unit}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.json"
)
FRAME_FILES = {"dna": "identified_nucleotide.fa", "protein": "identified_protein.faa"}


def _alternatives(names):
    """Regex matching exactly these names (or nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


def _models_of(kind=None, provider=None):
    return [
        n for n, s in REGISTRY.items() if kind in (None, s.kind) and provider in (None, s.provider)
    ]


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


# ---- the device and the extraction plan, decided once at DAG time -------------------------

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


def gpu_count(wildcards=None):
    return GPU_REQUEST


include: "helpers/extraction_plan.smk"


# ---- input functions of several stages ---------------------------------------------------


def sample_fasta(wildcards):
    return SAMPLES[wildcards.sample]


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


def model_settings(wildcards):
    """The model's settings that change its vectors (a rerun trigger; the registry's spec
    itself is not one: Snakemake cannot record a dataclass as a parameter)."""
    return REGISTRY[wildcards.model].result_settings()


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


def dataset_source_params(wildcards):
    """Per training dataset what cut_test_fragments and cluster_genomes read: its table row,
    its preprocessing's sequences.tsv (record lengths) and genome map."""
    maps = _genome_maps(wildcards.L)
    return {
        d: {
            "spec": spec,
            "sequences": f"{DATASET_DIR.format(L=wildcards.L, dataset=d)}/sequences.tsv",
            "genome_map": maps[d],
        }
        for d, spec in TRAINING.items()
    }


def dataset_sources(wildcards):
    """Input function: every file cut_test_fragments and cluster_genomes read (sequences,
    lengths, maps)."""
    params = dataset_source_params(wildcards)
    files = [p["sequences"] for p in params.values()]
    files += [f for p in params.values() for f in (p["spec"]["fasta"], p["spec"]["gbff"]) if f]
    return files + [p["genome_map"] for p in params.values() if p["genome_map"]]


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


# ---- targets of `snakemake` without a target (rule all) and of `predict` ----------------


def has_classifier(L, protein):
    tag = classifier_tag(int(L), DNA_MODEL, protein)
    return bool(TRAINING) or tag in PREDICT["checkpoints"]


def predicted():
    """(sample, chunk length, protein model) of every prediction the run makes."""
    return [
        (sample, L, p)
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
        if has_classifier(L, p)
    ]


def prediction_file(sample, L, protein, name):
    """One of PREDICTION_FILES of a sample, chunk length and protein model."""
    pair_dir = PAIR_DIR.format(
        sample=sample, L=L, dna_model=DNA_MODEL.name, protein_model=protein.name
    )
    return f"{pair_dir}/{name}"


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
        for sample, L, p in predicted()
        for name in PREDICTION_FILES
    ]
    return [*files, f"{OUT}/summary.tsv"] if files else []


def all_targets(wildcards=None):
    return [ENV_REPORT, *preprocess_targets(), *embedding_targets(), *predict_targets()]
