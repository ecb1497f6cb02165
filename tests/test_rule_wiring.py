"""Config reaches the rule scripts: every rule script runs with the `snakemake` object its
rule builds from a config of non-default values, and the package call it makes receives them.

The workflow's DAG is built in-process through Snakemake's API (about a second, no
subprocess), every job's ``snakemake`` object is made the way Snakemake makes it (pickled
and unpickled, as the script preamble does), and each rule script is executed with the
package function it calls replaced by a recorder. A rule file that wires a param to the
wrong config key (``min_viral_fraction=PREDICT["min_scored_fraction"]``) or a script that
drops one fails here, in the fast suite. What each package function does with the values
is tested in that function's own tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import runpy
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every value differs from both the schema default and config/standin.yaml.
SETTINGS = {
    "chunk_length": 500,
    "device": "cuda",
    "chunks_per_gpu_job": 1000,
    "min_chunks_per_gpu_job": 100,
    "gpus": 4,
    "ambiguous_codons": "x",
    "predict": {"min_viral_fraction": 0.7, "min_scored_fraction": 0.25, "plot_tracks": 3},
    "train": {
        "seed": 7,
        "seeds": 4,
        "val_fraction": 0.2,
        "test_fraction": 0.15,
        "balance": False,
        "species_clusters": False,
        "builder_threads": 3,
        "recipe": {"max_epochs": 3},
    },
    "extraction": {
        "loader_workers": 1,
        "progress_seconds": 5,
        "checkpoint_seconds": 9,
        "compile": True,
    },
    "compare": {
        "baseline": "standin_esm2_64d",
        "candidate": "standin_fastesm_32d",
        "margins": {"false_positive_rate_ratio": 1.3},
        "min_test_genomes": 7,
        "min_seeds": 2,
        "min_speedup": 1.5,
        "speed_repeats": 4,
        "max_outside_load": 0.2,
        "bootstrap": 17,
        "seed": 3,
        "fragment_lengths": [2000, 5000],
        "gated_lengths": [5000],
        "fragments_per_genome": 3,
    },
}
DNA, PROTEINS = "standin_dnabert_48d", ["standin_esm2_64d", "standin_fastesm_32d"]
TARGETS = {"predict", "compare", "verify_models"}


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, list[bytes]]:
    """Rule name -> pickled ``snakemake`` objects of its jobs, from the in-process DAG."""
    from snakemake.api import SnakemakeApi
    from snakemake.iocontainers import Snakemake
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
    )

    tmp = tmp_path_factory.mktemp("wiring")
    refseq = tmp / "refseq"
    training = tmp / "training.tsv"  # two FASTA datasets and one GenBank dataset to download
    training.write_text(
        "dataset\tlabel\tgroup\tfasta\tgbff\n"
        f"synthA\tviral\tgroupA\t{ROOT}/resources/example/train_groupA.fasta\t\n"
        f"synthB\tnonviral\tgroupB\t{ROOT}/resources/example/train_groupB.fasta\t\n"
        f"refv\tviral\trefseqv\t\t{refseq}/viral/viral.1.genomic.gbff.gz\n"
    )
    config = {
        **SETTINGS,
        "train": {**SETTINGS["train"], "datasets": str(training)},
        "outdir": str(tmp / "results"),
        "models_dir": str(tmp / "models"),
        "refseq_dir": str(refseq),
    }
    cwd = os.getcwd()
    out: dict[str, list[bytes]] = {}
    try:
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            workflow_api = api.workflow(
                ResourceSettings(cores=8, resources={"gpu": 1}),  # threads are capped by cores
                ConfigSettings(configfiles=[ROOT / "config/standin.yaml"], config=config),
                snakefile=ROOT / "Snakefile",
                workdir=ROOT,
            )
            workflow_api.dag(DAGSettings(targets=TARGETS, forceall=True))
            workflow = workflow_api._workflow
            workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
            for job in workflow.dag.jobs:
                if not job.rule.script:
                    continue
                script = (Path(job.rule.snakefile).parent / job.rule.script).resolve()
                smk = Snakemake(
                    job.input,
                    job.output,
                    job.params,
                    job.wildcards,
                    job.threads,
                    job.resources,
                    job.log,
                    workflow.config,
                    job.rule.name,
                    None,
                    str(script.parent),
                )
                # as the script preamble does: what cannot be pickled cannot reach a script
                out.setdefault(job.rule.name, []).append(pickle.dumps((script, smk), protocol=4))
    finally:
        os.chdir(cwd)
    return out


class Recorder:
    """Stands in for a package function: remembers its arguments, returns ``result``."""

    def __init__(self, result: Any = None):
        self.result, self.calls = result, []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.result


@contextlib.contextmanager
def _device(device, gpu):
    yield device


# Per rule script: the package functions it calls, replaced by recorders ((module, name): result).
STUBS: dict[str, dict[tuple[str, str], Any]] = {
    "predict.py": {
        ("virnucpro_smk.classify.predict", "predict_sample"): "scores",
        ("virnucpro_smk.report.scores_plot", "plot_scores"): None,
    },
    "preprocess.py": {("virnucpro_smk.preprocess.sample", "preprocess_fasta"): None},
    "extract_embeddings.py": {("virnucpro_smk.models.embeddings", "extract_shard"): None},
    "plan_extraction_jobs.py": {
        ("virnucpro_smk.runtime.job_plan", "write_job_table"): [],
    },
    "check_precision.py": {
        ("virnucpro_smk.models.precision", "decide_precision"): {
            "dtype": "float32",
            "allow_tf32": False,
            "min_cosine": None,
        },
        ("virnucpro_smk.models.precision", "write_precision"): None,
        ("virnucpro_smk.runtime.gpu_slots", "job_device"): _device,
    },
    "train_classifier.py": {("virnucpro_smk.classify.train", "train_from_manifest"): None},
    "score_heldout.py": {("virnucpro_smk.classify.heldout", "score_heldout"): {}},
    "cut_test_fragments.py": {
        ("virnucpro_smk.preprocess.heldout_fragments", "cut_test_fragments"): None
    },
    "build_training_set.py": {("virnucpro_smk.preprocess.genome_splits", "build_training_set"): {}},
    "cluster_genomes.py": {
        ("virnucpro_smk.preprocess.genome_clusters", "genome_clusters"): [],
        ("virnucpro_smk.preprocess.genome_clusters", "write_cluster_map"): None,
    },
    "time_predict.py": {("virnucpro_smk.speed.predict_timing", "time_predict"): []},
    "build_training_frames.py": {
        ("virnucpro_smk.preprocess.cds_frames", "build_training_frames"): None
    },
    "build_standin.py": {("virnucpro_smk.models.standin", "build_standin"): None},
    "download_model.py": {("virnucpro_smk.models.store", "download_model"): None},
    "download_refseq.py": {("urllib.request", "urlopen"): None},
    "validate_environment.py": {
        ("virnucpro_smk.runtime.environment", "validate_environment"): {"device": "cuda"}
    },
    "verify_models.py": {
        ("virnucpro_smk.models.verify", "verify_models"): {"passed": True, "models": []},
        ("virnucpro_smk.models.verify", "write_report"): None,
        ("virnucpro_smk.models.precision", "read_precision"): {"dtype": "bfloat16"},
    },
    "summarize.py": {("virnucpro_smk.classify.summary", "summarize_lists"): []},
    "compare_models.py": {  # the readers too: the script reads every file itself
        ("virnucpro_smk.io.embedding_files", "read_metadata"): {"model": "meta"},
        ("virnucpro_smk.formats.job_stats", "read_job_stats"): {"records": 1},
        ("virnucpro_smk.report.extraction_figures", "extraction_figures"): "extraction",
        ("virnucpro_smk.report.level_metrics", "read_seed_predictions"): {0: "tests"},
        ("virnucpro_smk.report.heldout_levels", "read_heldout"): {0: "heldout"},
        ("virnucpro_smk.report.comparison", "compared_model"): types.SimpleNamespace(
            name="result", heldout={}
        ),
        ("virnucpro_smk.preprocess.heldout_fragments", "split_genomes"): {"train": {}},
        ("virnucpro_smk.report.heldout_calls", "heldout_calls"): "calls",
        ("virnucpro_smk.report.heldout_calls", "write_calls_table"): None,
        ("virnucpro_smk.formats.speed_runs", "read_speed_runs"): ["run"],
        ("virnucpro_smk.report.comparison", "build_comparison"): (
            types.SimpleNamespace(
                decision=types.SimpleNamespace(decision="inconclusive", reasons=[]),
                accuracy=types.SimpleNamespace(accuracy="inconclusive"),
                speed=types.SimpleNamespace(speed="inconclusive", speedup=None),
            ),
            None,
        ),
        ("virnucpro_smk.report.comparison_page", "write_comparison"): None,
    },
}


def run_rule_script(blob: bytes, monkeypatch) -> dict[str, Recorder]:
    """Execute one job's rule script with its package calls recorded; returns the recorders."""
    import importlib

    script, smk = pickle.loads(blob)
    recorders: dict[str, Recorder] = {}
    with monkeypatch.context() as patch:
        for (module, name), result in STUBS[script.name].items():
            target = result if callable(result) else Recorder(result)
            patch.setattr(importlib.import_module(module), name, target)
            recorders[name] = target
        for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # set_offline() in scripts
            patch.setenv(key, os.environ.get(key, "0"))
        if script.name == "compare_models.py":  # the inputs the script reads itself
            for path in (smk.input.manifest_summary, *smk.input.metadata):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text("{}")
            Path(smk.input.fragments).parent.mkdir(parents=True, exist_ok=True)
            Path(smk.input.fragments).write_text(
                "fragment\tlength_bp\tdataset\tgroup\tlabel\tgenome\trecord\tstart\tend\n"
            )
        handlers = logging.getLogger().handlers[:]
        try:
            runpy.run_path(str(script), init_globals={"snakemake": smk}, run_name="__main__")
        finally:
            logging.getLogger().handlers[:] = handlers  # rule_logging reconfigures the root
    return recorders


def _one_call(recorder: Recorder) -> tuple[tuple, dict]:
    assert len(recorder.calls) == 1
    return recorder.calls[0]


def test_every_rule_script_is_exercised(jobs):
    scripts = {pickle.loads(blobs[0])[0].name for blobs in jobs.values()}
    assert scripts == set(STUBS), "a rule script without a wiring check (add it to STUBS)"
    # the chunk length reaches every job that has one
    for rule, blobs in jobs.items():
        for blob in blobs:
            smk = pickle.loads(blob)[1]
            if "L" in smk.wildcards.keys():  # noqa: SIM118 (a Namedlist, not a dict)
                assert smk.wildcards.L == "500", rule


def test_predict_gets_both_thresholds_chunk_length_and_models(jobs, monkeypatch):
    assert len(jobs["predict_sample"]) == len(PROTEINS)  # one job per protein model
    seen = set()
    for blob in jobs["predict_sample"]:
        rec = run_rule_script(blob, monkeypatch)
        args, _ = _one_call(rec["predict_sample"])
        features, thresholds, region_model = args[0], args[5], args[6]
        assert (thresholds.min_viral_fraction, thresholds.min_scored_fraction) == (0.7, 0.25)
        assert (region_model.sensitivity, region_model.switch_probability) == (0.85, 1e-3)
        assert (features.chunk_length, features.dna_model) == (500, DNA)
        protein = features.protein_model
        seen.add(protein)
        assert all(f"{DNA}_48d" not in str(p) for p in features.dna)  # DNA shards: the name
        assert all(f"/{DNA}/" in str(p) for p in features.dna)
        assert all(f"/{protein}/" in str(p) for p in features.protein)
        assert f"500bp_{DNA}+{protein}" in str(args[1])  # the classifier of the same pair
        assert _one_call(rec["plot_scores"])[1]["tracks"] == 3
    assert seen == set(PROTEINS)


def test_preprocessing_gets_chunk_length_and_ambiguous_codon_mode(jobs, monkeypatch):
    for rule in ("preprocess_sample", "preprocess_training_fasta"):
        for blob in jobs[rule]:
            args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["preprocess_fasta"])
            assert args[1] == 500 and args[6] == "x", rule
    (blob,) = jobs["build_training_frames"]
    args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["build_training_frames"])
    assert args[1] == 500 and kwargs["threads"] == 3
    assert str(args[0]).endswith("viral/viral.1.genomic.gbff.gz")


def test_extraction_gets_device_model_and_loader_settings(jobs, monkeypatch):
    models = set()
    for blob in jobs["extract_embeddings"]:
        smk = pickle.loads(blob)[1]
        (job, settings), kwargs = _one_call(run_rule_script(blob, monkeypatch)["extract_shard"])
        assert job.spec.name == smk.wildcards.model  # the spec of the job's own model
        models.add(job.spec.name)
        assert job.chunk_length == 500
        assert job.device == "cuda"
        assert kwargs["gpu_requested"] == 1  # device: cuda asks Snakemake for a GPU
        assert (settings.loader_workers, settings.progress_seconds) == (1, 5)
        assert settings.checkpoint_seconds == 9
        assert str(job.job_table).endswith(f"/frames/jobs/{smk.wildcards.model}.tsv")  # its table
        assert settings.compile is True  # extraction.compile, read from the config
        names = smk.params.keys()  # a Namedlist iterates over its values
        assert not [k for k in names if "compile" in k]  # not a param: no rerun
    assert models == {DNA, *PROTEINS}


def test_each_model_gets_jobs_by_its_own_cost(jobs, monkeypatch):
    """gpus: 4 and a floor of 100 DNA chunks: the sample's ~66 chunks at 500 bp make one DNA
    job, while each protein model (~8x and ~35x the work per chunk) fills the 4 GPUs; the
    FastESM stand-in's 4 are raised to 7, so that with the DNA job they make two full rounds
    (job_plan.pair_jobs); the plan's job count reaches plan_extraction_jobs (with the frame
    index and the model's job table), and it is the number of extraction jobs."""
    planned = {}
    for blob in jobs["plan_extraction_jobs"]:
        smk = pickle.loads(blob)[1]
        if smk.wildcards.unit != "samples/example":
            continue
        rec = run_rule_script(blob, monkeypatch)
        args, _ = _one_call(rec["write_job_table"])
        assert args[1:] == (smk.params.n_jobs, smk.output[0])
        assert args[0].endswith("/frames/shards.tsv")
        assert args[2].endswith(f"/frames/jobs/{smk.wildcards.model}.tsv")
        planned[smk.wildcards.model] = smk.params.n_jobs
    assert planned == {DNA: 1, "standin_esm2_64d": 4, "standin_fastesm_32d": 7}
    extracted = {}
    for blob in jobs["extract_embeddings"]:
        smk = pickle.loads(blob)[1]
        if smk.wildcards.unit == "samples/example":
            extracted[smk.wildcards.model] = extracted.get(smk.wildcards.model, 0) + 1
    assert extracted == planned


def test_gpu_jobs_get_the_configured_device(jobs, monkeypatch):
    for blob in jobs["check_precision"]:
        smk = pickle.loads(blob)[1]
        args, _ = _one_call(run_rule_script(blob, monkeypatch)["decide_precision"])
        assert args[0].name == smk.wildcards.model and args[2] == "cuda"
    (blob,) = jobs["validate_environment"]
    args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["validate_environment"])
    assert args[0] == "cuda" and kwargs["gpu_requested"] == 1
    (blob,) = jobs["verify_models"]
    recorders = run_rule_script(blob, monkeypatch)
    args, kwargs = _one_call(recorders["verify_models"])
    assert args[3] == "cuda"
    # the reduced-precision check runs in each model's decided dtype
    assert set(kwargs["run_dtypes"].values()) == {"bfloat16"} and kwargs["run_dtypes"]
    assert [s.name for s in args[0]] == ["dnaberts_768d", "esm2_3b_2560d", "fastesm650_1280d"]


def test_training_gets_split_seed_shards_and_recipe(jobs, monkeypatch):
    (blob,) = jobs["build_training_set"]
    args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["build_training_set"])
    assert [d.dataset for d in args[0]] == ["synthA", "synthB", "refv"]
    assert [d.label for d in args[0]] == [1, 0, 1]
    split = kwargs["settings"]
    assert split.seed == 7 and split.balance is False
    assert str(kwargs["clusters"]).endswith("training/chunk500/genome_clusters.tsv")
    # the frame index comes from the frames alone (each model's jobs are sized afterwards)
    assert "n_shards" not in kwargs
    assert (split.val_fraction, split.test_fraction) == (0.2, 0.15)
    assert len(jobs["train_classifier"]) == len(PROTEINS)
    for blob in jobs["train_classifier"]:
        smk = pickle.loads(blob)[1]
        args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["train_from_manifest"])
        assert args[3:5] == (DNA, smk.wildcards.protein_model)
        recipe = args[6]
        assert (recipe.max_epochs, recipe.seed) == (3, 7)
        assert kwargs["device"] == "cuda" and kwargs["expect"][0] == 500
        assert kwargs["n_seeds"] == 4
        # every seed's checkpoint (seeds 7..10), the held-out scoring reads them all
        seeds = [Path(p).parent.name for p in args[5].seed_weights]
        assert seeds == ["7", "8", "9", "10"]


def test_heldout_fragments_get_lengths_count_and_the_split_seed(jobs, monkeypatch):
    (blob,) = jobs["cut_test_fragments"]
    args, _ = _one_call(run_rule_script(blob, monkeypatch)["cut_test_fragments"])
    assert [d.name for d in args[0]] == ["synthA", "synthB", "refv"]
    assert [d.spec["label"] for d in args[0]] == [1, 0, 1]
    assert str(args[0][2].genome_map).endswith("datasets/refv/genomes.tsv")
    assert args[0][0].genome_map is None  # FASTA datasets without a genomes column
    assert args[2:5] == ([2000, 5000], 3, 7)
    for blob in jobs["score_heldout"]:  # every seed, predict's two thresholds
        smk = pickle.loads(blob)[1]
        args, _ = _one_call(run_rule_script(blob, monkeypatch)["score_heldout"])
        assert list(args[1]) == [7, 8, 9, 10]
        assert [Path(p).parent.name for p in args[1].values()] == ["7", "8", "9", "10"]
        features, thresholds = args[0], args[4]
        assert (features.chunk_length, features.dna_model, features.protein_model) == (
            500,
            DNA,
            smk.wildcards.protein_model,
        )
        assert (thresholds.min_viral_fraction, thresholds.min_scored_fraction) == (0.7, 0.25)


def test_comparison_gets_its_settings_and_both_models(jobs, monkeypatch):
    (blob,) = jobs["compare_models"]
    smk = pickle.loads(blob)[1]
    rec = run_rule_script(blob, monkeypatch)
    made = rec["compared_model"].calls
    assert [c[0][0] for c in made] == PROTEINS and all(c[0][1] == 500 for c in made)
    # each model gets its own classifier's files, read by the script
    for (args, _), model in zip(made, PROTEINS, strict=True):
        folder = Path(args[3]).parent
        assert Path(args[3]).name == "metadata.json"
        assert folder.name.startswith(f"500bp_{DNA}+{model}_")
        assert args[4:] == ({0: "tests"}, {0: "heldout"}, "extraction")
        assert ((str(folder / "test_predictions.tsv"),), {}) in rec["read_seed_predictions"].calls
        held = ((str(folder / "heldout_chunks.tsv"), str(folder / "heldout_sequences.tsv")), {})
        assert held in rec["read_heldout"].calls
    # the in-job timers come from the jobs' stats JSON (paths: a checkpoint's, <TBD> here)
    stats = [c[0][0] for c in rec["read_job_stats"].calls]
    assert stats == [p for m in PROTEINS for p in smk.params.extraction_stats[m]]
    timed = rec["extraction_figures"].calls
    assert [c[0][:2] for c in timed] == [(m, 500) for m in PROTEINS]
    (inputs, settings, chunk_length), _ = _one_call(rec["build_comparison"])
    assert chunk_length == 500 and len(inputs.models) == 2
    assert Path(_one_call(rec["split_genomes"])[0][0]).name == "training_manifest.tsv"
    assert inputs.split_genomes == {"train": {}} and inputs.manifest_summary == {}
    # the calls table the accuracy verdict reads is the one the rule writes
    assert inputs.calls == "calls" and rec["write_calls_table"].calls[0][0][0] == "calls"
    assert rec["write_calls_table"].calls[0][0][1] == smk.output.calls
    assert inputs.speed_runs == ["run"] and inputs.standin_models == [DNA, *PROTEINS]
    assert Path(rec["read_speed_runs"].calls[0][0][0]).name == "predict_runs_chunk500.json"
    assert (settings.baseline, settings.candidate) == tuple(PROTEINS)
    assert settings.margins == {"sensitivity": 0.02, "false_positive_rate_ratio": 1.3}
    assert (settings.min_speedup, settings.speed_repeats, settings.max_outside_load) == (
        1.5,
        4,
        0.2,
    )
    assert (settings.min_test_genomes, settings.min_seeds, settings.gated_lengths) == (7, 2, [5000])
    assert (settings.bootstrap, settings.seed) == (17, 3)
    # the held-out levels: predict's scored-fraction threshold and the fragment lengths
    assert settings.thresholds.min_scored_fraction == 0.25
    assert settings.fragment_lengths == [2000, 5000]
    # the planted-provirus section decodes as predict does
    assert (
        settings.region_model.sensitivity,
        settings.region_model.false_positive_rate,
        settings.region_model.switch_probability,
    ) == (0.85, 0.03, 1e-3)
    written = _one_call(rec["write_comparison"])[0]
    assert written[2:] == tuple(smk.output[k] for k in ("html", "md", "json", "png"))


def test_models_and_summary_get_their_names(jobs, monkeypatch):
    built = set()
    for blob in jobs["build_standin_model"]:
        args, _ = _one_call(run_rule_script(blob, monkeypatch)["build_standin"])
        built.add(args[0].name)
        assert str(args[1]).endswith(f"models/{args[0].name}")
    assert built == {DNA, *PROTEINS}
    for blob in jobs["download_model"]:  # verify_models needs the real weights
        smk = pickle.loads(blob)[1]
        args, _ = _one_call(run_rule_script(blob, monkeypatch)["download_model"])
        assert args[0].name == smk.wildcards.model
    (blob,) = jobs["download_refseq"]
    with pytest.raises(TypeError):  # the recorded urlopen returns None: nothing to read
        run_rule_script(blob, monkeypatch)
    (blob,) = jobs["summarize_predictions"]
    args, _ = _one_call(run_rule_script(blob, monkeypatch)["summarize_lists"])
    assert args[1] == ["example"] * len(PROTEINS)
    assert args[2] == [
        f"500bp_{DNA}+{p}_{48 + w}d" for p, w in zip(PROTEINS, (64, 32), strict=True)
    ]


def test_speed_runs_get_every_core_the_gpus_and_predicts_settings(jobs, monkeypatch):
    (blob,) = jobs["time_predict"]
    smk = pickle.loads(blob)[1]
    # every core, and every GPU of the run (`gpus: 4`, capped by the run's --resources gpu=1)
    assert smk.threads == 8 and smk.resources.gpu == 1
    args, _ = _one_call(run_rule_script(blob, monkeypatch)["time_predict"])
    plan = args[0]
    assert (plan.baseline, plan.candidate, plan.dna_model) == (*PROTEINS, DNA)
    assert (plan.chunk_length, plan.repeats, plan.device, plan.ambiguous) == (500, 4, "cuda", "x")
    assert plan.extraction.loader_workers == 1 and plan.extraction.compile is False
    assert plan.fasta.endswith("heldout/chunk500/fragments.fa")
    assert plan.predict["min_viral_fraction"] == 0.7 and plan.predict["plot_tracks"] == 3
    assert plan.predict["min_scored_fraction"] == 0.25
    for p in PROTEINS:
        assert plan.checkpoints[p].endswith(
            f"500bp_{DNA}+{p}_{48 + (64 if 'esm2' in p else 32)}d/model.safetensors"
        )
    assert set(plan.registry) == set(plan.precision) == {DNA, *PROTEINS}
    (blob,) = jobs["cluster_genomes"]
    args, kwargs = _one_call(run_rule_script(blob, monkeypatch)["genome_clusters"])
    assert [d.name for d in args[0]] == ["synthA", "synthB", "refv"]
    assert [d.label for d in args[0]] == [1, 0, 1] and kwargs["species"] is False
    assert str(args[0][2].genome_map).endswith("datasets/refv/genomes.tsv")
