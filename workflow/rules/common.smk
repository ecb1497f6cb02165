# Config validation, sample sheet, model registry and path helpers shared by all rules.
import re
import sys
from functools import cache
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from virnucpro_smk.errors import InputError  # noqa: E402
from virnucpro_smk.model_store import model_dir  # noqa: E402
from virnucpro_smk.preprocess import count_chunks, shard_count  # noqa: E402
from virnucpro_smk.registry import parse_registry, select_models  # noqa: E402


validate(config, schema="../schemas/config.schema.yaml")


def _chunk_lengths(value):
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def _load_samples(path):
    if not Path(path).is_file():
        raise WorkflowError(f"config key samples: sample sheet {path!r} not found")
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    missing = {"sample", "fasta"} - set(table.columns)
    if missing:
        raise WorkflowError(f"config key samples: {path} lacks column(s) {sorted(missing)}")
    validate(table, schema="../schemas/samples.schema.yaml")
    if table["sample"].duplicated().any():
        dupes = sorted(set(table.loc[table["sample"].duplicated(), "sample"]))
        raise WorkflowError(f"config key samples: {path} lists sample(s) {dupes} twice")
    for row in table.itertuples():
        if not Path(row.fasta).is_file():
            raise WorkflowError(
                f"config key samples: {path}, sample {row.sample!r}: FASTA {row.fasta!r} not found"
            )
    return dict(zip(table["sample"], table["fasta"]))


try:
    REGISTRY = parse_registry(config["models"])
    DNA_MODEL, PROTEIN_MODELS = select_models(
        REGISTRY, config["dna_model"], list(config["protein_models"])
    )
except InputError as exc:
    raise WorkflowError(str(exc)) from None

SAMPLES = _load_samples(config["samples"])
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
    sample=r"[A-Za-z0-9_.-]+",
    L=r"\d+",
    shard=r"\d{4}",
    kind=r"dna|protein",
    model=_alternatives(REGISTRY),


@cache
def n_shards(sample, chunk_length):
    """Shards of a sample, from its sequence lengths: known before any job runs (dry-run)."""
    return shard_count(count_chunks(SAMPLES[sample], chunk_length), config["shard_size"])


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


def all_outputs():
    return [ENV_REPORT, *preprocess_outputs(), *embedding_outputs()]
