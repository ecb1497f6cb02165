"""One stage of `predict`, as a fresh process: what the timed speed runs execute.

``python -m virnucpro_smk.speed.predict_stage STAGE SPEC.json`` runs one of the stages the
workflow's `predict` jobs run, calling the same package functions as their rule scripts:

* ``preprocess``: chunk the input and keep every stop-free frame (rule preprocess_sample);
* ``dna`` / ``protein``: one extraction job of that model over every frame (rules
  plan_extraction_jobs and extract_embeddings; its stats JSON beside the file);
* ``predict``: score, call and write predict's tables, FASTA and figure (rule predict_sample).

Each stage is its own process because each workflow job is: interpreter start-up, imports
and the model load are part of what a user waits for (:mod:`.predict_timing` times them).
The spec (written by :mod:`.predict_timing`) names the input, the run directory, the models'
registry entries, directories and precision decisions, the classifier and predict's settings.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: start-up is part of the stage

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from ..formats.speed_runs import STAGES  # noqa: E402


def run_paths(run_dir: str | Path) -> dict[str, Path]:
    """Where a run's stages read and write (one directory per run, like a sample's)."""
    root = Path(run_dir)
    return {
        "chunked": root / "chunked.fa",
        "nucleotide": root / "frames" / "identified_nucleotide.fa",
        "protein": root / "frames" / "identified_protein.faa",
        "sequences": root / "sequences.tsv",
        "index": root / "frames" / "shards.tsv",
        "out": root / "predict",
    }


def _extract(spec: dict[str, Any], kind: str) -> None:
    from ..io.atomic import write_text_atomic
    from ..models.embeddings import extract_shard
    from ..models.extraction_job import ExtractionJob, ExtractionSettings
    from ..models.registry import parse_model
    from ..models.store import set_offline
    from ..runtime.job_plan import write_job_table

    set_offline()
    name = spec["dna_model"] if kind == "dna" else spec["protein_model"]
    paths = run_paths(spec["run_dir"])
    table = Path(spec["run_dir"]) / "frames" / "jobs" / f"{name}.tsv"
    table.parent.mkdir(parents=True, exist_ok=True)
    write_job_table(paths["index"], 1, table)
    output = Path(spec["run_dir"]) / "embeddings" / kind / name / "shard_0000.safetensors"
    output.parent.mkdir(parents=True, exist_ok=True)
    stats = extract_shard(
        ExtractionJob(
            parse_model(name, spec["registry"][name]),
            spec["model_dirs"][name],
            paths["nucleotide" if kind == "dna" else "protein"],
            table,
            0,
            output,
            int(spec["chunk_length"]),
            spec["precision"][name],
            spec["device"],
        ),
        ExtractionSettings(**spec["extraction"]),
        gpu_requested=1 if spec["device"] == "cuda" else 0,
        started=STARTED,
    )
    write_text_atomic(Path(spec["run_dir"]) / f"stats_{kind}.json", json.dumps(stats) + "\n")


def _predict(spec: dict[str, Any]) -> None:
    from ..classify.calls import CallThresholds
    from ..classify.predict import FeatureFiles, PredictionFiles, predict_sample
    from ..classify.region_model import RegionModel
    from ..report.scores_plot import plot_scores

    paths = run_paths(spec["run_dir"])
    out = paths["out"]
    out.mkdir(parents=True, exist_ok=True)
    root = Path(spec["run_dir"]) / "embeddings"
    scores = predict_sample(
        FeatureFiles(
            sorted((root / "dna" / spec["dna_model"]).glob("*.safetensors")),
            sorted((root / "protein" / spec["protein_model"]).glob("*.safetensors")),
            spec["dna_model"],
            spec["protein_model"],
            int(spec["chunk_length"]),
        ),
        spec["checkpoint"],
        paths["sequences"],
        spec["fasta"],
        PredictionFiles(
            out / "predictions.tsv",
            out / "per_chunk.tsv",
            out / "per_sequence.tsv",
            out / "viral.fna",
            out / "regions.tsv",
            out / "viral_regions.fna",
        ),
        CallThresholds.from_config(spec),
        RegionModel(**spec["region_model"]),
    )
    plot_scores(scores, out / "scores.png", tracks=int(spec["plot_tracks"]))


def run_stage(stage: str, spec: dict[str, Any]) -> None:
    """Run one stage of one run (see the module doc)."""
    if stage == "preprocess":
        from ..preprocess.sample import preprocess_fasta

        paths = run_paths(spec["run_dir"])
        paths["index"].parent.mkdir(parents=True, exist_ok=True)
        preprocess_fasta(
            spec["fasta"],
            int(spec["chunk_length"]),
            paths["chunked"],
            paths["nucleotide"],
            paths["protein"],
            paths["sequences"],
            spec["ambiguous"],
            frame_index=paths["index"],
        )
    elif stage in ("dna", "protein"):
        _extract(spec, stage)
    elif stage == "predict":
        _predict(spec)
    else:
        raise ValueError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")


def main(argv: list[str] | None = None) -> int:
    from ..runtime.logs import setup_logging

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m virnucpro_smk.speed.predict_stage STAGE SPEC.json", file=sys.stderr)
        return 2
    setup_logging()
    run_stage(args[0], json.loads(Path(args[1]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
