# Config validation, sample sheet, model registry and path helpers shared by all rules.
import re
import sys
from functools import cache
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from virnucpro_smk.config_checks import (  # noqa: E402
    SAMPLE_NAME_PATTERN,
    check_config,
    check_downloaded_revision,
    load_sample_sheet,
    one_line_errors,
)
from virnucpro_smk.errors import InputError  # noqa: E402
from virnucpro_smk.model_store import model_dir  # noqa: E402
from virnucpro_smk.preprocess import count_chunks, shard_count  # noqa: E402
from virnucpro_smk.registry import (  # noqa: E402
    classifier_tag,
    pair_tag,
    parse_registry,
    select_models,
)
from virnucpro_smk.train_builder import scan_genbank_lengths  # noqa: E402
from virnucpro_smk.training_set import parse_label  # noqa: E402


with one_line_errors():
    check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")


def _chunk_lengths(value):
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def _load_samples(path):
    with one_line_errors():
        return load_sample_sheet(path)


with one_line_errors():
    REGISTRY = parse_registry(config["models"])
    DNA_MODEL, PROTEIN_MODELS = select_models(
        REGISTRY, config["dna_model"], list(config["protein_models"])
    )
    for _spec in [DNA_MODEL, *PROTEIN_MODELS]:
        check_downloaded_revision(_spec, config["models_dir"])

def _load_training(path, refseq_dir):
    """Labelled datasets: dataset, label, group, fasta and/or gbff (see config.yaml).

    With a GenBank file the training-mode builder keeps only frames found in annotated
    proteins; with a FASTA alone every stop-free frame is used (prediction-mode selection).
    Files under ``refseq_dir`` are fetched by `download_refseq` and may not exist yet.
    """
    if not path:
        return {}
    if not Path(path).is_file():
        raise WorkflowError(f"config key train.datasets: {path!r} not found")
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    missing = {"dataset", "label", "group"} - set(table.columns)
    if missing or not ({"fasta", "gbff"} & set(table.columns)):
        raise WorkflowError(
            f"config key train.datasets: {path} needs columns dataset, label, group and "
            "fasta and/or gbff"
        )
    out = {}
    for row in table.to_dict("records"):
        name, fasta, gbff = row["dataset"], row.get("fasta", ""), row.get("gbff", "")
        where = f"config key train.datasets: {path}, dataset {name!r}"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in out:
            raise WorkflowError(f"{where}: names must be unique and use [A-Za-z0-9_-]")
        if not (fasta or gbff):
            raise WorkflowError(f"{where}: give a fasta or a gbff file")
        for file in (fasta, gbff):
            if file and not file.startswith(f"{refseq_dir}/") and not Path(file).is_file():
                raise WorkflowError(f"{where}: {file!r} not found")
        try:
            label = parse_label(row["label"], where)
        except InputError as exc:
            raise WorkflowError(str(exc)) from None
        out[name] = {"label": label, "group": row["group"] or name, "fasta": fasta, "gbff": gbff}
    return out


TRAIN = {
    "datasets": "",
    "seed": 42,
    "val_fraction": 0.1,
    "test_fraction": 0.1,
    "balance": True,
    "recipe": {},
    **config.get("train", {}),
}
PREDICT = {"checkpoints": {}, "min_viral_fraction": 0.5, "plot_first_n": 20, **config.get("predict", {})}
REFSEQ_DIR = config["refseq_dir"].rstrip("/")
with one_line_errors():
    TRAINING = _load_training(TRAIN["datasets"], REFSEQ_DIR)
GENBANK_DATASETS = {n: d for n, d in TRAINING.items() if d["gbff"]}
SAMPLES = _load_samples(config["samples"])
# Training datasets are preprocessed and embedded like samples, under a `train.` prefix.
INPUTS = {**SAMPLES, **{f"train.{name}": d["fasta"] for name, d in TRAINING.items()}}
# Inputs chunked by preprocess_sample (GenBank datasets go through build_training_frames).
FASTA_INPUTS = [s for s in INPUTS if s.removeprefix("train.") not in GENBANK_DATASETS]
CHUNK_LENGTHS = _chunk_lengths(config["chunk_length"])
OUT = config["outdir"].rstrip("/")
ENV_REPORT = f"{OUT}/env/validation.json"
MODELS_DIR = config["models_dir"].rstrip("/")
EXTRACTION = {"loader_workers": 2, "progress_seconds": 30, **config.get("extraction", {})}
ACTIVE_MODELS = [DNA_MODEL, *PROTEIN_MODELS]
SAMPLE_DIR = f"{OUT}/{{sample}}/chunk{{L}}"
FRAMES_DIR = f"{SAMPLE_DIR}/frames"


def _alternatives(names):
    """Regex matching exactly these names (or nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


HUB_MODELS_RE = _alternatives(n for n, s in REGISTRY.items() if s.provider == "hub")
STANDIN_MODELS_RE = _alternatives(n for n, s in REGISTRY.items() if s.provider == "standin")


wildcard_constraints:
    sample=SAMPLE_NAME_PATTERN,
    L=r"\d+",
    shard=r"\d{4}",
    kind=r"dna|protein",
    model=_alternatives(REGISTRY),
    dataset=_alternatives(GENBANK_DATASETS),
    dna_model=_alternatives(n for n, s in REGISTRY.items() if s.kind == "dna"),
    protein_model=_alternatives(n for n, s in REGISTRY.items() if s.kind == "protein"),


@cache
@one_line_errors()
def n_shards(sample, chunk_length):
    """Shards of a sample, from its sequence lengths: known before any job runs (dry-run)."""
    dataset = GENBANK_DATASETS.get(sample.removeprefix("train."))
    source = (dataset["fasta"] or dataset["gbff"]) if dataset else INPUTS[sample]
    if not Path(source).is_file():
        raise WorkflowError(
            f"{source} is not there yet: run `snakemake download_refseq` first (on a machine "
            "with internet access); shard counts are computed from the downloaded files"
        )
    if dataset and not dataset["fasta"]:
        lengths = scan_genbank_lengths(source)
        n_chunks = sum(-(-n // chunk_length) for n in lengths)
    else:
        n_chunks = count_chunks(source, chunk_length)
    return shard_count(n_chunks, config["shard_size"])


def shard_ids(sample, chunk_length):
    return [f"{i:04d}" for i in range(n_shards(sample, int(chunk_length)))]


def preprocess_outputs():
    return [
        path
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for path in (
            f"{OUT}/{sample}/chunk{L}/sequences.tsv",
            *expand(
                f"{OUT}/{sample}/chunk{L}/frames/shard_{{shard}}.{{ext}}",
                shard=shard_ids(sample, L),
                ext=("fna", "faa"),
            ),
        )
    ]


def model_ready(name):
    """The file that proves a model's weights are on disk (what extraction jobs wait for)."""
    spec = REGISTRY[name]
    if spec.provider == "local":
        return str(model_dir(spec, MODELS_DIR))
    return f"{MODELS_DIR}/{name}/manifest.json"


def gpu_count(wildcards=None):
    """GPU jobs ask for one GPU, except when the whole run is pinned to the CPU."""
    return 0 if config["device"] == "cpu" else 1


def shard_input(wildcards):
    ext = "fna" if wildcards.kind == "dna" else "faa"
    return f"{OUT}/{wildcards.sample}/chunk{wildcards.L}/frames/shard_{wildcards.shard}.{ext}"


def embedding_outputs():
    return [
        f"{OUT}/{sample}/chunk{L}/embeddings/{spec.kind}/{spec.name}/shard_{shard}.safetensors"
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for spec in ACTIVE_MODELS
        for shard in shard_ids(sample, L)
    ]


def merged_shards(sample, L, dna_model, protein_model):
    return [
        f"{OUT}/{sample}/chunk{L}/merged/{pair_tag(dna_model, protein_model)}/shard_{s}.safetensors"
        for s in shard_ids(sample, L)
    ]


def classifier_dir(L, dna_model, protein_model):
    tag = classifier_tag(int(L), REGISTRY[dna_model], REGISTRY[protein_model])
    return f"{OUT}/models/{tag}"


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


def has_classifier(L, protein):
    tag = classifier_tag(int(L), DNA_MODEL, protein)
    return bool(TRAINING) or tag in PREDICT["checkpoints"]


@one_line_errors()
def predict_outputs(strict=False):
    """Prediction files; with ``strict``, a missing classifier is an error, not a skip."""
    if strict:
        for L in CHUNK_LENGTHS:
            for p in PROTEIN_MODELS:
                classifier_weights(L, DNA_MODEL.name, p.name)
    return [
        f"{OUT}/{sample}/chunk{L}/{pair_tag(DNA_MODEL.name, p.name)}/{name}"
        for sample in SAMPLES
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
        if has_classifier(L, p)
        for name in ("predictions.tsv", "per_chunk.tsv", "per_sequence.tsv", "scores.png")
    ]


COMPARE = {
    "baseline": "esm2_3b_2560d",
    "candidate": "fastesm650_1280d",
    "max_f1_drop": 0.05,
    "min_speedup": 2.0,
    "bootstrap": 1000,
    "seed": 0,
    **config.get("compare", {}),
}
COMPARE_MODELS = [COMPARE["baseline"], COMPARE["candidate"]]


def training_embeddings(L, protein_model):
    """Protein embedding shards of every training dataset (they carry the extraction timers)."""
    return [
        f"{OUT}/train.{d}/chunk{L}/embeddings/protein/{protein_model}/shard_{s}.safetensors"
        for d in TRAINING
        for s in shard_ids(f"train.{d}", L)
    ]


def training_benchmarks(L, protein_model):
    return [
        f"{OUT}/benchmarks/extract_embeddings/train.{d}_chunk{L}_protein_{protein_model}_{s}.tsv"
        for d in TRAINING
        for s in shard_ids(f"train.{d}", L)
    ]


@one_line_errors()
def compare_outputs():
    if not TRAINING:
        raise WorkflowError("compare needs training data: set train.datasets")
    for name in COMPARE_MODELS:
        if name not in REGISTRY or REGISTRY[name].kind != "protein":
            raise WorkflowError(f"config key compare: {name!r} is not a protein model")
    return [f"{OUT}/reports/comparison_chunk{L}.{ext}" for L in CHUNK_LENGTHS for ext in ("html", "md", "json")]


@one_line_errors()
def train_outputs():
    if not TRAINING:
        raise WorkflowError("nothing to train: set train.datasets (see config/config.yaml)")
    return [
        f"{classifier_dir(L, DNA_MODEL.name, p.name)}/metadata.json"
        for L in CHUNK_LENGTHS
        for p in PROTEIN_MODELS
    ]


def all_outputs():
    return [ENV_REPORT, *preprocess_outputs(), *embedding_outputs(), *predict_outputs()]
