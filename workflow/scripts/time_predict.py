"""Rule time_predict: `predict` end to end on the held-out fragments for both compared protein
models, alternating, each stage a fresh process; the runs and their conditions as JSON.

Params: ``models`` (baseline, candidate), ``dna_model``, ``loads`` (registry entries, weight
directories, precision files, classifiers), ``repeats``, ``device``, ``ambiguous``,
``predict`` (predict's thresholds, plot tracks and region model); the config's
``extraction`` section (speed knobs: not params). Input ``fasta``: the held-out fragments.
Output ``runs``.
"""

from dataclasses import replace
from pathlib import Path

from virnucpro_smk.models.extraction_job import ExtractionSettings
from virnucpro_smk.runtime.logs import rule_logging
from virnucpro_smk.speed.predict_timing import TimingPlan, time_predict

with rule_logging(snakemake):
    loads = snakemake.params.loads
    baseline, candidate = snakemake.params.models
    plan = TimingPlan(
        fasta=str(snakemake.input.fasta),
        chunk_length=int(snakemake.wildcards.L),
        dna_model=snakemake.params.dna_model,
        baseline=baseline,
        candidate=candidate,
        registry=loads["registry"],
        model_dirs=loads["model_dirs"],
        precision=loads["precision"],
        checkpoints=loads["checkpoints"],
        device=snakemake.params.device,
        ambiguous=snakemake.params.ambiguous,
        predict=snakemake.params.predict,
        # speed knobs, as in extraction jobs: read from the config, not params; the timed
        # runs extract eagerly, as they always have (compile: false)
        extraction=replace(
            ExtractionSettings.from_config(snakemake.config["extraction"]), compile=False
        ),
        repeats=int(snakemake.params.repeats),
    )
    out = Path(snakemake.output.runs)
    time_predict(plan, out, out.parent / f".{out.stem}.work")
