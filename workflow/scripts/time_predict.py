"""Rule time_predict: `predict` end to end on the held-out fragments for both compared protein
models, alternating, each stage a fresh process; the runs and their conditions as JSON.

Params: ``models`` (baseline, candidate), ``dna_model``, ``loads`` (registry entries, weight
directories, precision files, classifiers), ``repeats``, ``device``, ``ambiguous``,
``predict`` (predict's thresholds, plot tracks and region model). Input ``fasta``: the
held-out fragments. Output ``runs``.
"""

from pathlib import Path

from virnucpro_smk.runtime.logs import rule_logging
from virnucpro_smk.runtime.predict_timing import TimingPlan, time_predict

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
        # a speed knob, as in extraction jobs: read from the config, not params
        loader_workers=snakemake.config["extraction"]["loader_workers"],
        repeats=int(snakemake.params.repeats),
    )
    out = Path(snakemake.output.runs)
    time_predict(plan, out, out.parent / f".{out.stem}.work")
