"""Comparison report: hand-computed metrics at three levels, the genome (cluster) bootstrap,
training-extraction figures, the manifest table, the held-out calls table (written, read back,
re-decided by `virnucpro-smk decide`) and the written report with its three verdicts (the
rules themselves: tests/test_noninferiority.py, tests/test_speed_runs.py)."""

from __future__ import annotations

import json
import math
import runpy
import types
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import default_thresholds
from virnucpro_smk.classify.metrics import binary_metrics, ranking_areas
from virnucpro_smk.classify.region_model import RegionModel
from virnucpro_smk.errors import InputError, ModelMismatchError
from virnucpro_smk.formats.heldout import FRAGMENTS as FRAGMENT_TABLE
from virnucpro_smk.formats.heldout import FragmentRow
from virnucpro_smk.formats.job_stats import read_job_stats
from virnucpro_smk.formats.speed_runs import SpeedRun
from virnucpro_smk.io.embedding_files import read_metadata, write_embeddings
from virnucpro_smk.report.comparison import (
    CompareSettings,
    ComparisonInputs,
    ModelInputs,
    build_comparison,
    compared_model,
)
from virnucpro_smk.report.comparison_page import render, write_comparison
from virnucpro_smk.report.extraction_figures import (
    extraction_figures,
    extraction_speedup,
)
from virnucpro_smk.report.heldout_calls import heldout_calls
from virnucpro_smk.report.heldout_levels import read_heldout
from virnucpro_smk.report.job_benchmarks import read_benchmark
from virnucpro_smk.report.level_metrics import (
    Level,
    TestPredictions,
    cluster_bootstrap_ci,
    frame_level,
    per_group,
    read_seed_predictions,
)
from virnucpro_smk.report.manifest_tables import FrameTotals, GroupFrames, manifest_tables
from virnucpro_smk.runtime.config_defaults import schema_defaults

ROOT = Path(__file__).resolve().parents[1]


def compare_settings(**overrides) -> CompareSettings:
    """The schema's compare defaults for the two test models, with predict's thresholds."""
    predict = schema_defaults("predict")
    values = {
        **schema_defaults("compare"),
        "baseline": "big_64d",
        "candidate": "small_32d",
        "min_viral_fraction": predict["min_viral_fraction"],
        "min_scored_fraction": predict["min_scored_fraction"],
        "region_model": asdict(RegionModel.from_config(predict)),
        "fragment_lengths": [900],
        "gated_lengths": [900],
    }
    return CompareSettings.from_config({**values, **overrides})


# 3 records, 5 chunks, 9 frames. recA and recB are viral, recC is a bacterium.
#   recA_chunk_1: 0.9, 0.3         best viral 0.9 >= best non-viral 0.7  -> viral  (TP)
#   recA_chunk_2: 0.4, 0.45        0.45 < 0.6                            -> other  (FN)
#   recB_chunk_1: 0.2, 0.85, 0.1   0.85 < 0.9 (frame R3 is surely host)  -> other  (FN)
#   recC_chunk_1: 0.6              0.6 >= 0.4                            -> viral  (FP)
#   recC_chunk_2: 0.3              0.3 < 0.7                             -> other  (TN)
FRAMES = [
    ("recA_chunk_1F1", "recA", "viral", 1, 0.9),
    ("recA_chunk_1R1", "recA", "viral", 1, 0.3),
    ("recA_chunk_2F1", "recA", "viral", 1, 0.4),
    ("recA_chunk_2F2", "recA", "viral", 1, 0.45),
    ("recB_chunk_1F1", "recB", "viral", 1, 0.2),
    ("recB_chunk_1F2", "recB", "viral", 1, 0.85),
    ("recB_chunk_1R3", "recB", "viral", 1, 0.1),
    ("recC_chunk_1F1", "recC", "bacteria", 0, 0.6),
    ("recC_chunk_2F1", "recC", "bacteria", 0, 0.3),
]


def predictions(frames=FRAMES) -> TestPredictions:
    return TestPredictions(
        [f[0] for f in frames],
        ["ds_" + f[2] for f in frames],
        [f[2] for f in frames],
        [f[1] for f in frames],
        np.array([f[3] for f in frames]),
        np.array([f[4] for f in frames], dtype=float),
    )


def write_tests_tsv(path: Path, frames=FRAMES) -> Path:
    lines = ["id\tdataset\tgroup\trecord\tlabel\tscore_viral"]
    lines += [f"{i}\tds_{g}\t{g}\t{r}\t{lab}\t{s}" for i, r, g, lab, s in frames]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_frame_level_by_hand():
    m = frame_level(predictions()).metrics()
    # calls: 0.9, 0.85 (viral, TP), 0.6 (FP); the other five viral frames are FN; 0.3 TN
    assert m["confusion"] == {"tn": 1, "fp": 1, "fn": 5, "tp": 2}
    assert m["f1"] == pytest.approx(4 / 10)


def _chunks(groups=("viral", "viral", "viral", "bacteria", "bacteria")) -> Level:
    """The five chunks of FRAMES as predict calls them (best viral >= best non-viral)."""
    return Level(
        "chunk",
        ["recA_chunk_1", "recA_chunk_2", "recB_chunk_1", "recC_chunk_1", "recC_chunk_2"],
        ["recA", "recA", "recB", "recC", "recC"],
        list(groups),
        np.array([1, 1, 1, 0, 0]),
        np.array([0.6, 0.425, 0.475, 0.6, 0.3]),
        np.array([True, False, False, True, False]),
    )


def test_chunk_level_metrics_by_hand():
    m = _chunks().metrics()
    assert m["confusion"] == {"tn": 1, "fp": 1, "fn": 2, "tp": 1}
    assert m["precision"] == pytest.approx(1 / 2)
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 / 5)
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["mcc"] == pytest.approx((1 * 1 - 1 * 2) / math.sqrt(2 * 3 * 2 * 3))
    # ranking scores: positives 0.6, 0.425, 0.475; negatives 0.6, 0.3.
    # Pairs won: 0.5 + 1 + 0 + 1 + 0 + 1 = 3.5 of 6.
    assert m["roc_auc"] == pytest.approx(3.5 / 6)
    # AP: thresholds 0.6 (P 1/2, R 1/3), 0.475 (P 2/3, R 2/3), 0.425 (P 3/4, R 1)
    assert m["pr_auc"] == pytest.approx((1 / 2 + 2 / 3 + 3 / 4) / 3)


def test_per_group_at_chunk_level():
    groups = per_group(_chunks())
    assert asdict(groups["viral"]) == {
        "n": 3,
        "records": 2,
        "label": "viral",
        "metric": "recall",
        "value": pytest.approx(1 / 3),
    }
    assert groups["bacteria"].metric == "specificity"
    assert groups["bacteria"].value == 0.5
    groups = per_group(_chunks(("viral", "viral", "misc", "misc", "misc")))
    assert groups["misc (viral)"].value == 0.0  # recB_chunk_1 missed
    assert groups["misc (nonviral)"].value == 0.5


def test_metrics_by_hand_on_ties_and_one_class():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.7, 0.7, 0.2, 0.1])
    auc, ap = ranking_areas(labels, scores)
    assert auc == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    # the tie at 0.7 is one threshold: P 1/2 at R 1/2, then P 2/4 at R 1 (the 0.2 step)
    assert ap == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    one = binary_metrics(np.array([1, 1]), np.array([0.9, 0.2]))
    assert math.isnan(one["roc_auc"]) and one["mcc"] == 0.0 and one["recall"] == 0.5


def test_cluster_bootstrap_is_wider_than_frame_bootstrap_for_correlated_frames():
    # 10 records of 20 identical frames each: the evidence is 10 records, not 200 frames
    values = np.repeat(np.linspace(0.0, 1.0, 10) ** 2, 20)
    records = np.repeat([f"r{k}" for k in range(10)], 20).tolist()
    units = [f"f{i}" for i in range(values.size)]

    def mean(index):
        return {"mean": values[index].mean()}

    cluster = cluster_bootstrap_ci(mean, records, 400, seed=3)["mean"]
    frame = cluster_bootstrap_ci(mean, units, 400, seed=3)["mean"]
    assert cluster[0] <= values.mean() <= cluster[1]
    assert (cluster[1] - cluster[0]) > 2 * (frame[1] - frame[0])
    assert cluster_bootstrap_ci(mean, records, 400, seed=3)["mean"] == cluster
    assert cluster_bootstrap_ci(mean, records, 400, seed=4)["mean"] != cluster


def test_cluster_bootstrap_draws_whole_records():
    records = ["a", "a", "a", "b", "c", "c"]
    seen = []

    def record_sizes(index):
        seen.append(index.copy())
        return {"n": float(len(index))}

    cluster_bootstrap_ci(record_sizes, records, 50, seed=0)
    members = {"a": {0, 1, 2}, "b": {3}, "c": {4, 5}}
    for index in seen:
        counts = np.bincount(index, minlength=6)
        for idx in members.values():  # a record appears with all its units, as often each
            assert len({counts[i] for i in idx}) == 1
        assert sum(counts[min(idx)] for idx in members.values()) == 3  # 3 records drawn


# --------------------------------------------------------------------------- extraction


def job_stats(records: int, embed_s: float) -> dict:
    return {
        "records": records,
        "tokens": records * 50,
        "embed_seconds": embed_s,
        "load_seconds": 1.0,
        "device_name": "cpu",
        "peak_gpu_mib": None,
    }


def figures(model: str, embed_s: list[float], wall_s: list[float | None], **kwargs):
    """One model's extraction figures from values, one job per entry (None: a benchmark file
    that is missing)."""
    return extraction_figures(
        model,
        300,
        {
            f"shard_{k}": {"model": model, "chunk_length": 300, "dtype": "float32"}
            for k in range(len(embed_s))
        },
        [job_stats(10, s) for s in embed_s],
        {
            f"bench_{k}.tsv": None if s is None else {"s": s, "max_rss": 900.0 + k}
            for k, s in enumerate(wall_s)
        },
        kwargs.get("training", {"s": 12.5, "max_rss": None}),
    )


def test_speed_is_end_to_end_not_in_process():
    # the candidate's forward pass is 4x faster, but its jobs spend the time starting up
    base = figures("big_64d", [40, 40], [60, 60])
    cand = figures("small_32d", [10, 10], [40, 40])
    assert base.wall_seconds == 120 and base.embed_seconds == 80 and base.jobs == 2
    assert cand.overhead_seconds == 60 and cand.load_seconds == 2.0
    assert base.records == 20 and base.tokens == 1000 and base.dtypes == ["float32"]
    assert base.max_rss_mib == 901.0 and base.devices == ["cpu"]
    assert base.training_wall_seconds == 12.5
    s = extraction_speedup(base, cand)
    assert s.in_process == 4.0 and s.end_to_end == 1.5 and s.problem is None


def test_speed_without_all_benchmarks_has_no_end_to_end_figure():
    base = figures("big_64d", [40, 40], [60, 60, None], training=None)
    assert base.wall_seconds is None and base.missing_benchmarks == ["bench_2.tsv"]
    assert base.training_wall_seconds is None and base.jobs == 3
    s = extraction_speedup(base, figures("small_32d", [1, 1], [2, 2]))
    assert s.end_to_end is None and "1 extraction benchmark file(s) missing" in s.problem
    other = extraction_speedup(figures("a_8d", [1], [2]), figures("b_8d", [1, 1], [2, 2]))
    assert other.end_to_end is None and "different numbers of records" in other.problem


def test_speed_refuses_another_models_embeddings():
    with pytest.raises(ModelMismatchError, match="shard_0: holds big_64d vectors, not small_32d"):
        extraction_figures("small_32d", 300, {"shard_0": {"model": "big_64d"}}, [], {}, None)
    with pytest.raises(ModelMismatchError, match="shard_0: chunk length 500, expected 300"):
        extraction_figures(
            "small_32d", 300, {"shard_0": {"model": "small_32d", "chunk_length": 500}}, [], {}, None
        )


def test_job_stats_reader_refuses_a_missing_or_malformed_file(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(job_stats(10, 4.0)))
    assert read_job_stats(path)["embed_seconds"] == 4.0
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"stats\.json: extraction stats are not a JSON object"):
        read_job_stats(path)
    path.unlink()
    with pytest.raises(InputError, match="unreadable extraction stats"):
        read_job_stats(path)


# --------------------------------------------------------------------------- files


def write_shard(path: Path, model: str, records: int, embed_s: float, width: int = 4):
    """An embedding file (identity only) and its job's stats JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"model": model, "width": width, "chunk_length": 300, "dtype": "float32"}
    ids = [f"x{i}" for i in range(records)]
    write_embeddings(path, ids, torch.zeros((records, width)), meta)
    stats = path.parent.parent.parent / "stats" / f"{model}_{path.stem}.json"
    stats.parent.mkdir(exist_ok=True)
    stats.write_text(json.dumps(job_stats(records, embed_s)))
    return path, stats


def write_benchmark(path: Path, seconds: float, rss: float = 900.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
    path.write_text(f"{head}\n{seconds}\t0:00:{int(seconds):02d}\t{rss}\t1\t1\t1\t0\t0\t90\t1\n")
    return path


def model_inputs(tmp: Path, model: str, embed_s: list[float], wall_s: list[float]):
    written = [
        write_shard(tmp / "emb" / model / f"shard_{k}.safetensors", model, 10, s)
        for k, s in enumerate(embed_s)
    ]
    shards, stats = [w[0] for w in written], [w[1] for w in written]
    benches = [write_benchmark(tmp / "bench" / f"{model}_{k}.tsv", s) for k, s in enumerate(wall_s)]
    return shards, benches, stats


def test_manifest_table_available_vs_used():
    out = manifest_tables(
        {
            "available_by_group": {"viral": 100, "bacteria": 400, "plant": 50},
            "used_by_group": {"viral": 100, "bacteria": 50, "plant": 50},
            "by_split": {"train": 160, "val": 20, "test": 20},
            "records_by_split": {"train": 8, "val": 1, "test": 1},
        }
    )
    rows = {r.group: r for r in out.by_group}
    assert rows["bacteria"] == GroupFrames("bacteria", 400, 50, 0.125)
    assert out.total == FrameTotals(550, 200, pytest.approx(200 / 550))
    assert out.by_split["test"] == 20 and out.genomes_shared_between_splits is None
    with pytest.raises(InputError, match="used_by_group"):
        manifest_tables({"available_by_group": {}})


def _first_seed(path):
    return next(iter(read_seed_predictions(path).values()))


def test_read_seed_predictions_checks_its_input(tmp_path):
    good = _first_seed(write_tests_tsv(tmp_path / "t.tsv"))
    assert good.ids[0] == "recA_chunk_1F1" and good.labels.sum() == 7
    (tmp_path / "bad.tsv").write_text("id\tlabel\tscore_viral\nx_chunk_1F1\t1\t0.5\n")
    with pytest.raises(InputError, match=r"bad.tsv, line 1: not a test_predictions.tsv table"):
        _first_seed(tmp_path / "bad.tsv")
    frames = [*FRAMES[:-1], ("recC_chunk_2F1", "recC", "bacteria", 0, 1.5)]
    with pytest.raises(InputError, match="not in \\[0, 1\\]"):
        _first_seed(write_tests_tsv(tmp_path / "bad2.tsv", frames))


# --------------------------------------------------------------------------- whole report

SUMMARY = {
    "available_by_group": {"viral": 12, "bacteria": 40},
    "used_by_group": {"viral": 12, "bacteria": 2},
    "by_split": {"train": {"viral": 5, "bacteria": 0}, "test": {"viral": 7, "bacteria": 2}},
    "records_by_split": {"train": 4, "test": 3},
    "records_shared_between_splits": {"train-test": 0},
}


def candidate_frames():
    """The candidate: recB_chunk_1's host-like frame softened, so that chunk becomes viral."""
    frames = [list(f) for f in FRAMES]
    frames[6][4] = 0.3  # recB_chunk_1R3: best non-viral now 0.8 (F1) < best viral 0.85
    return [tuple(f) for f in frames]


# The held-out fragments: the same three genomes cut as 900-bp fragments of three chunks,
# their chunks scored from FRAMES as predict would; chunk 3 of every fragment and chunk 2 of
# recB kept no frame (counted, never a unit). Per-sequence calls (predict's rule: >= 0.5 of
# scored chunks viral and >= 15 % of chunks scored):
#   recA: 1 of 2 scored chunks viral -> viral (TP); recC: 1 of 2 -> viral (FP);
#   recB: 0 of 1 -> nonviral (FN) for the baseline, 1 of 1 -> viral (TP) for the candidate.
# recA and recC are of taxa no training genome shares (the "unseen" group), recB of a seen one.
FRAGMENTS = [
    FragmentRow(r, 900, f"ds_{g}", g, lab, r, r, 1, 900, t, s)
    for r, g, lab, t, s in (
        ("recA", "viral", 1, "Alphavirus", "no"),
        ("recB", "viral", 1, "Tequatrovirus", "yes"),
        ("recC", "bacteria", 0, "Escherichia", "no"),
    )
]  # fmt: skip


def write_heldout(folder: Path, frames, seeds=(0,)) -> tuple[Path, Path]:
    """``heldout_chunks.tsv`` / ``heldout_sequences.tsv`` of ``frames`` (per chunk: best
    viral = max score, best non-viral = 1 - min score) for every seed."""
    from virnucpro_smk.classify.calls import sequence_call

    by_chunk: dict[tuple[str, int], list[float]] = {}
    for fid, record, _, _, score in frames:
        by_chunk.setdefault((record, int(fid[:-2].rsplit("_", 1)[1])), []).append(score)
    chunk_lines = [
        "seed\tsequence_id\tchunk\tframes_kept\tbest_viral_score\tbest_nonviral_score\tcall"
    ]
    seq_lines = ["seed\tsequence_id\tlength_bp\tchunks\tchunks_scored\tchunks_viral\tcall"]
    for seed in seeds:
        for frag in FRAGMENTS:
            scored = viral = 0
            for n in (1, 2, 3):
                s = by_chunk.get((frag.fragment, n))
                if s is None:
                    chunk_lines.append(f"{seed}\t{frag.fragment}\t{n}\t0\tNA\tNA\tno coding frame")
                    continue
                call = "viral" if max(s) >= 1 - min(s) else "nonviral"
                scored, viral = scored + 1, viral + (call == "viral")
                chunk_lines.append(
                    f"{seed}\t{frag.fragment}\t{n}\t{len(s)}\t{max(s)}\t{1 - min(s)}\t{call}"
                )
            seq_lines.append(
                f"{seed}\t{frag.fragment}\t900\t3\t{scored}\t{viral}\t"
                f"{sequence_call(3, scored, viral, default_thresholds())}"
            )
    chunks, sequences = folder / "heldout_chunks.tsv", folder / "heldout_sequences.tsv"
    chunks.write_text("\n".join(chunk_lines) + "\n")
    sequences.write_text("\n".join(seq_lines) + "\n")
    return chunks, sequences


def make_results(tmp_path: Path, base_wall=(60.0, 60.0), cand_wall=(20.0, 20.0)):
    """Both models' files written (as the workflow writes them) and read back as the rule
    script reads them."""
    out = []
    for model, frames, width, walls in (
        ("big_64d", FRAMES, 112, base_wall),
        ("small_32d", candidate_frames(), 80, cand_wall),
    ):
        d = tmp_path / model
        d.mkdir()
        tests = write_tests_tsv(d / "test_predictions.tsv", frames)
        meta = {
            "protein_model": model,
            "chunk_length": 300,
            "input_width": width,
            "manifest_sha256": "abc",
            "epochs_run": 7,
        }
        (d / "metadata.json").write_text(json.dumps(meta))
        shards, benches, stats = model_inputs(d, model, [w / 2 for w in walls], list(walls))
        train = write_benchmark(d / "train.tsv", 12.5)
        extraction = extraction_figures(
            model,
            300,
            {str(p): read_metadata(p) for p in shards},
            [read_job_stats(p) for p in stats],
            {str(p): read_benchmark(p) for p in benches},
            read_benchmark(train),
        )
        out.append(
            compared_model(
                model,
                300,
                meta,
                str(d / "metadata.json"),
                read_seed_predictions(tests),
                read_heldout(*write_heldout(d, frames)),
                extraction,
            )
        )
    return out


def comparison_inputs(models: list[ModelInputs], **overrides) -> ComparisonInputs:
    """The comparison's inputs: ``models`` on FRAGMENTS, a manifest none of whose genomes
    are test genomes, no speed runs."""
    values = {
        "models": models,
        "fragments": FRAGMENTS,
        "manifest_summary": SUMMARY,
        "split_genomes": {},
        "calls": heldout_calls(FRAGMENTS, {m.name: m.heldout for m in models}),
        "speed_runs": [],
        "overlapping_jobs": [],
        "standin_models": [],
    }
    return ComparisonInputs(**{**values, **overrides})


def test_a_classifier_of_another_model_or_chunk_length_is_refused(tmp_path):
    (model,) = [m for m in make_results(tmp_path) if m.name == "big_64d"]
    args = (model.seeds, model.heldout, model.extraction)
    with pytest.raises(ModelMismatchError, match=r"m\.json: a big_64d classifier, not small_32d"):
        compared_model("small_32d", 300, model.metadata, "m.json", *args)
    with pytest.raises(ModelMismatchError, match=r"m\.json: trained on 300 bp chunks, not 500"):
        compared_model("big_64d", 500, model.metadata, "m.json", *args)
    with pytest.raises(ModelMismatchError, match=r"held-out scores of seeds \[0\], test .* \[5\]"):
        compared_model("big_64d", 300, model.metadata, "m.json", {5: model.predictions}, *args[1:])


def test_report_written_with_three_levels_and_a_decision(tmp_path):
    settings = compare_settings(bootstrap=60, seed=1, provirus_trials=30)
    comparison, png = build_comparison(comparison_inputs(make_results(tmp_path)), settings, 300)
    # planted proviruses: recC is the one host, recA and recB the viruses (tracks of 1-4
    # chunks: a region, when one is called, spans the whole planted track)
    prov = comparison.proviruses
    assert prov.measured and (prov.host_genomes, prov.viral_genomes) == (1, 2)
    assert set(prov.models) == {"big_64d", "small_32d"}
    for figures in prov.models.values():
        assert figures.planted == 30 and 0.0 <= figures.recall <= 1.0
        assert figures.found + figures.split <= 30
    chunk = comparison.levels["chunk"]
    assert chunk.models["big_64d"].metrics["f1"] == pytest.approx(2 / 5)
    # candidate: recB_chunk_1 now a TP -> tp 2, fp 1, fn 1: F1 = 4/6
    assert chunk.models["small_32d"].metrics["f1"] == pytest.approx(4 / 6)
    assert chunk.f1_drop.value == pytest.approx(2 / 5 - 4 / 6)
    # the held-out fragments' chunks without a frame are counted, not units
    assert chunk.n == 5 and comparison.heldout.chunks_without_frame == 4
    assert comparison.heldout.fragments_by_call == {"900": {"nonviral": 1, "viral": 2}}
    # per-sequence calls by predict's rule (see FRAGMENTS): baseline tp 1, fp 1, fn 1;
    # candidate tp 2, fp 1
    seq = comparison.levels["sequence_0.9kb"].models
    assert seq["big_64d"].metrics["f1"] == pytest.approx(1 / 2)
    assert seq["small_32d"].metrics["f1"] == pytest.approx(4 / 5)
    assert list(comparison.levels) == ["frame", "chunk", "sequence_0.9kb"]
    # new taxa: recA's chunks (TP, FN) and recC's (FP, TN); recB's chunk alone is "seen"
    unseen = comparison.taxa.unseen
    assert (unseen.chunks, unseen.genomes, unseen.viral_genomes) == (4, 2, 1)
    assert unseen.models["big_64d"].metrics["recall"] == 0.5
    assert unseen.models["big_64d"].metrics["specificity"] == 0.5
    assert comparison.taxa.seen.chunks == 1 and comparison.taxa.unknown_taxon_chunks == 0
    assert comparison.extraction_speedup.end_to_end == 3.0  # context only
    assert comparison.models["small_32d"].extraction.training_wall_seconds == 12.5
    # 3 test genomes and one training seed: no margin can be resolved; no speed runs
    decision, accuracy, speed = comparison.decision, comparison.accuracy, comparison.speed
    assert (decision.decision, accuracy.accuracy, speed.speed) == ("inconclusive",) * 3
    assert any("chunk: too few test genomes" in r for r in accuracy.reasons)
    assert any("training variance not measured" in r for r in accuracy.reasons)
    assert speed.reasons == ["no speed runs (rule time_predict)"]
    assert set(decision.reasons) == {*accuracy.reasons, *speed.reasons}
    assert accuracy.seeds == {"baseline": [0], "candidate": [0]}
    assert list(accuracy.strata) == ["chunk", "sequence_0.9kb"]
    # genome-averaged, by hand: chunk level recA 1 of 2, recB 0 of 1 -> sensitivity 0.25 for
    # the baseline; the candidate calls recB's chunk -> 0.75; recC 1 false positive of 2
    sens = accuracy.strata["chunk"].metrics["sensitivity"]
    assert (sens.baseline, sens.candidate, sens.effect) == (0.25, 0.75, 0.5)
    assert accuracy.strata["chunk"].metrics["false_positive_rate"].baseline == 0.5
    assert accuracy.strata["chunk"].decision == "not_gated" and not decision.standin_models
    checks = {c.check: c.ok for c in comparison.checks}
    assert checks.pop("no genome in two splits (the test split is unseen genomes)") is False
    assert all(checks.values()), comparison.checks  # the summary predates genome keys
    assert len(comparison.checks) == 8
    out = tmp_path / "reports"
    paths = [out / f"c.{ext}" for ext in ("html", "md", "json", "png")]
    write_comparison(comparison, png, *paths)
    page, md = paths[0].read_text(), paths[1].read_text()
    for text in (page, md):
        for level in (
            "training-mode selection): 9 units",
            "every stop-free frame): 5 units",
            "Per 0.9kb fragment (the per-sequence call of predict): 3 units",
            "Per fragment length (what a user gets from predict)",
        ):
            assert level in text
        assert "Decision: inconclusive" in text and "95 % bootstrap CI" in text
        assert "accuracy: inconclusive" in text and "speed: inconclusive" in text
        assert "Accuracy verdict: every gated stratum" in text and "Speed verdict" in text
        assert "Precision at low viral prevalence" in text and "too few test genomes" in text
        assert "STAND-IN MODELS" not in text
        assert "Training frames available vs used" in text and "0.050" in text  # 2 of 40
    assert "data:image/png;base64," in page and "<table>" in page and "{{" not in page
    assert "| recall |" in md or "| recall | " in md
    for text in (page, md):
        assert "Viral regions (planted proviruses)" in text
        assert "chunk-track planting, not DNA insertion" in text and "30 trials" in text
    assert "| planted proviruses | 30 | 30 |" in md
    # the JSON: strict (NaN would not parse in browsers), the verdicts in fixed keys
    data = json.loads(paths[2].read_text())
    assert list(data["levels"]) == data["level_names"] == ["frame", "chunk", "sequence_0.9kb"]
    assert (data["decision"], data["accuracy"], data["speed"]) == ("inconclusive",) * 3
    assert data["accuracy_reasons"] == accuracy.reasons and data["speedup"] is None
    assert data["margins"] == {"sensitivity": 0.02, "false_positive_rate_ratio": 1.5}
    assert data["seeds"] == {"baseline": [0], "candidate": [0]}
    assert set(data["low_prevalence_precision"]) == {"0.01", "0.1"}
    assert data["accuracy_test"]["strata"]["chunk"]["metrics"]["sensitivity"]["effect"] == 0.5
    assert (data["test_frames"], data["test_chunks"], data["test_sequences"]) == (9, 5, 3)
    assert data["models"]["small_32d"]["metrics"]["f1"] == pytest.approx(4 / 6)
    assert data["models"]["small_32d"]["per_group"]["viral"]["metric"] == "recall"
    assert data["proviruses"]["models"]["small_32d"]["planted"] == 30
    assert data["checks"][0] == asdict(comparison.checks[0]) and data["same_manifest"]
    # too few test genomes: the section says why, the page renders
    no_host = replace(
        comparison,
        proviruses=replace(prov, measured=False, reason="no non-viral test genome", models={}),
    )
    _, md = render(no_host, png)
    assert "Not measured: no non-viral test genome." in md
    # the PNG decodes, is the one embedded in the page, and draws both models' curves
    import base64

    from matplotlib.image import imread

    png_bytes = paths[3].read_bytes()
    assert base64.b64encode(png_bytes).decode() in page
    image = imread(paths[3])
    assert image.ndim == 3 and image.shape[1] > 2 * image.shape[0]  # three panels side by side
    for colour in ("#2c7fb8", "#d95f02"):  # baseline, candidate
        rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(image[..., :3] - rgb).max(axis=-1) < 0.02).sum() > 50, colour


def speed_runs(base_s: float, cand_s: float, pairs: int = 3) -> list[SpeedRun]:
    """Alternating runs under equal conditions (float32 on a CPU, no outside load)."""
    return [
        SpeedRun(
            model,
            k,
            2 * k + (model == "small_32d"),
            seconds,
            {"preprocess": 1.0, "dna": 1.0, "protein": seconds - 3.0, "predict": 1.0},
            "cpu",
            {"dna_48d": "float32", model: "float32"},
            (0.2, 0.2, 0.2),
            (1.0, 0.5, 0.3),
            0.01,
        )
        for k in range(pairs)
        for model, seconds in (("big_64d", base_s + 0.1 * k), ("small_32d", cand_s))
    ]


def test_report_rejects_a_slow_candidate_refuses_stand_ins_and_other_test_sets(tmp_path):
    settings = compare_settings(bootstrap=20)
    results = make_results(tmp_path, cand_wall=(50.0, 50.0))
    slow = comparison_inputs(results, speed_runs=speed_runs(12.0, 10.0))
    comparison, png = build_comparison(slow, settings, 300)
    assert comparison.speed.speed == "too_slow"
    assert comparison.decision.decision == "candidate_rejected"
    assert comparison.speed.speedup == pytest.approx(1.21, abs=0.01)  # what a 1.2x one reads
    assert comparison.accuracy.accuracy == "inconclusive"  # rejected for speed, not accuracy
    assert any("below the required 2x" in r for r in comparison.speed.reasons)
    # a stand-in among the models: inconclusive whatever the figures, and a banner
    standin, _ = build_comparison(replace(slow, standin_models=["standin_esm2_64d"]), settings, 300)
    assert standin.decision.decision == "inconclusive" and standin.speed.speed == "too_slow"
    assert standin.decision.standin_models == ["standin_esm2_64d"]
    assert "stand-in models compared" in standin.decision.reasons[0]
    for text in render(standin, png):
        assert "STAND-IN MODELS" in text and "standin_esm2_64d" in text
    leaky = {**SUMMARY, "records_shared_between_splits": {"train-test": 1}}
    checks = {
        c.check: c.ok
        for c in build_comparison(
            comparison_inputs(results, manifest_summary=leaky), settings, 300
        )[0].checks
    }
    assert checks["no record in two splits (the test split is unseen records)"] is False
    # a fragment whose genome trained a classifier fails the held-out check
    trained = {"train": {"ds_bacteria": {"recC"}}, "test": {"ds_viral": {"recA", "recB"}}}
    comparison, _ = build_comparison(
        comparison_inputs(results, split_genomes=trained), settings, 300
    )
    held = [c for c in comparison.checks if c.check.startswith("held-out fragments")]
    assert held and held[0].ok is False and "train: 1" in held[0].detail
    # the two models scored different held-out chunks: refused
    calls = comparison_inputs(results).calls
    first = results[1].heldout[0]
    other = replace(
        results[1],
        heldout={0: replace(first, frames=np.where(np.arange(len(first.frames)) == 0, 0, 1))},
    )
    with pytest.raises(ModelMismatchError, match="held-out fragments"):
        build_comparison(comparison_inputs([results[0], other], calls=calls), settings, 300)
    fewer = replace(results[1], seeds={0: results[1].predictions.subset(range(8))})
    with pytest.raises(ModelMismatchError, match="same frames"):
        build_comparison(comparison_inputs([results[0], fewer], calls=calls), settings, 300)


def test_rule_script_writes_the_report_and_decide_recomputes_its_accuracy(tmp_path, capsys):
    """The rule script writes the report and the calls table; `virnucpro-smk decide` on that
    table prints the report's accuracy fields, and re-decides at other margins."""
    from dataclasses import asdict

    from virnucpro_smk.cli import main

    results_dir = tmp_path / "in"
    results_dir.mkdir()
    make_results(results_dir)
    models = ["big_64d", "small_32d"]
    (tmp_path / "summary.json").write_text(json.dumps(SUMMARY))
    fragments = tmp_path / "fragments.tsv"
    FRAGMENT_TABLE.write(fragments, FRAGMENTS)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("id\tdataset\tgroup\trecord\tgenome\tlabel\tsplit\tshard\n")
    runs = tmp_path / "runs.json"
    runs.write_text(json.dumps({"runs": [asdict(r) for r in speed_runs(30.0, 10.0)]}))
    out = tmp_path / "out"
    settings = {
        **compare_settings(bootstrap=20, seed=0).as_config(),
        "baseline": "big_64d",
        "candidate": "small_32d",
    }
    smk = types.SimpleNamespace(
        input=types.SimpleNamespace(
            tests=[str(results_dir / m / "test_predictions.tsv") for m in models],
            metadata=[str(results_dir / m / "metadata.json") for m in models],
            heldout_chunks=[str(results_dir / m / "heldout_chunks.tsv") for m in models],
            heldout_sequences=[str(results_dir / m / "heldout_sequences.tsv") for m in models],
            fragments=str(fragments),
            manifest=str(manifest),
            manifest_summary=str(tmp_path / "summary.json"),
            speed_runs=str(runs),
            timing_benchmark=str(write_benchmark(tmp_path / "bench" / "time_predict.tsv", 60)),
            # another job of the workflow that ran meanwhile (its benchmark file says when)
            other=str(write_benchmark(tmp_path / "bench" / "score" / "x.tsv", 5)),
        ),
        params=types.SimpleNamespace(
            models=models,
            standins=[],
            embeddings={m: sorted((results_dir / m / "emb" / m).glob("*")) for m in models},
            extraction_benchmarks={
                m: sorted((results_dir / m / "bench").glob("*")) for m in models
            },
            extraction_stats={m: sorted((results_dir / m / "stats").glob("*")) for m in models},
            train_benchmarks={m: str(results_dir / m / "train.tsv") for m in models},
            benchmark_dir=str(tmp_path / "bench"),
            settings=settings,
        ),
        output=types.SimpleNamespace(
            **{k: str(out / f"r.{k}") for k in ("html", "md", "json", "png")},
            calls=str(out / "calls.tsv"),
        ),
        wildcards=types.SimpleNamespace(L="300"),
        log=[str(tmp_path / "log.txt")],
        rule="compare_models",
    )
    runpy.run_path(
        str(ROOT / "workflow/scripts/compare_models.py"), init_globals={"snakemake": smk}
    )
    report = json.loads((out / "r.json").read_text())
    assert report["decision"] == "inconclusive"
    assert report["speed"] == "inconclusive" and report["speedup"] == pytest.approx(3.0, 0.02)
    assert any("1 other job(s) of the workflow ran" in r for r in report["speed_reasons"])
    assert (
        "decision: inconclusive (accuracy inconclusive, speed inconclusive"
        in (tmp_path / "log.txt").read_text()
    )
    # one row per held-out chunk per model per seed: 3 fragments x 3 chunks x 2 models
    rows = (out / "calls.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:6] == [
        "model", "seed", "genome", "label", "fragment_length", "fragment"
    ]  # fmt: skip
    assert len(rows) == 1 + 18
    argv = [str(out / "calls.tsv"), "--baseline", "big_64d", "--candidate", "small_32d"]
    same = [*argv, "--bootstrap", "20", "--seed", "0", "--gated-lengths", "900"]
    assert main(["decide", *same]) == 0
    decided = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "accuracy_reasons", "margins", "seeds", "accuracy_test"):
        assert decided[key] == report[key], key
    # a lab's own margin and prevalence: the same calls, another reading
    assert main(["decide", *same, "--margin", "sensitivity=0.6", "--prevalence", "0.05"]) == 0
    loose = json.loads(capsys.readouterr().out)
    assert loose["margins"]["sensitivity"] == 0.6 and list(loose["low_prevalence_precision"]) == [
        "0.05"
    ]


def _random_ties(seed=7, n=300):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    # scores rounded to 2 digits so that ties are frequent
    return labels, np.round(np.clip(rng.normal(0.35 + 0.3 * labels, 0.25), 0, 1), 2)


METRIC_CASES = {
    "random_ties": _random_ties(),
    "all_correct": ([1, 1, 0, 0, 1], [0.9, 0.8, 0.1, 0.2, 0.7]),
    "all_wrong": ([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8]),
    "all_scores_tied": ([1, 0, 0, 1, 0], [0.5] * 5),
    "nothing_called_viral": ([1, 0, 1, 0, 0], [0.4, 0.1, 0.3, 0.2, 0.45]),
    "everything_called_viral": ([1, 0, 1, 0], [0.9, 0.6, 0.6, 0.95]),
    "viral_only": ([1, 1, 1], [0.9, 0.2, 0.5]),
    "nonviral_only": ([0, 0, 0], [0.9, 0.2, 0.1]),
}


@pytest.mark.parametrize("case", sorted(METRIC_CASES))
def test_numpy_metrics_agree_with_scikit_learn(case):
    """metrics.py reimplements the metrics for speed inside the bootstrap; scikit-learn is the
    independent reference, on random ties and the edge cases (one class, all right/wrong)."""
    from sklearn import metrics as skm

    labels, scores = (np.asarray(a) for a in METRIC_CASES[case])
    pred = (scores >= 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(labels, pred, labels=[0, 1]).ravel().tolist()
    expected = {
        "n": labels.size,
        "accuracy": skm.accuracy_score(labels, pred),
        "precision": skm.precision_score(labels, pred, zero_division=0),
        "recall": skm.recall_score(labels, pred, zero_division=0),
        "f1": skm.f1_score(labels, pred, zero_division=0),
        "mcc": skm.matthews_corrcoef(labels, pred),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    if 0 in labels:  # specificity is the recall of the non-viral class; undefined without it
        expected["specificity"] = skm.recall_score(labels, pred, pos_label=0, zero_division=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one class: ROC-AUC is undefined (NaN)
        expected["roc_auc"] = skm.roc_auc_score(labels, scores)
    if len(set(labels.tolist())) == 2:
        expected["pr_auc"] = skm.average_precision_score(labels, scores)
    else:  # scikit-learn returns 1.0 or 0.0 by fiat here; the report shows NaN, as for ROC
        expected["pr_auc"] = math.nan
    got = binary_metrics(labels, scores)
    assert got.pop("confusion") == expected.pop("confusion")
    if 0 not in labels:
        assert math.isnan(got.pop("specificity"))
    assert got == pytest.approx(expected, nan_ok=True)


def test_a_resample_of_one_class_defines_no_metric():
    """Two viral and two host genomes, all called right: a resample that drew no viral genome
    has no recall (not 0), so the perfect recall's interval is [1, 1]."""
    from virnucpro_smk.report.level_metrics import Level, paired_values_fn

    genomes = ["v1", "v2", "h1", "h2"]
    labels = np.array([1, 1, 0, 0])
    level = Level("chunk", genomes, genomes, ["g"] * 4, labels, labels * 1.0, labels == 1, genomes)
    ci = cluster_bootstrap_ci(paired_values_fn({"a": level, "b": level}, "a", "b"), genomes, 200, 0)
    assert ci["a/recall"] == (1.0, 1.0) and ci["a/precision"] == (1.0, 1.0)
