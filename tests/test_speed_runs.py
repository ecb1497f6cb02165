"""The speed verdict: paired ratios of alternating end-to-end predict runs, a t interval over
the repeats, and `inconclusive` under unequal conditions (outside load, other GPU processes,
other jobs, different run dtypes, too few repeats); the runner's alternation and its outside
load measurement."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from conftest import default_extraction
from virnucpro_smk.formats.speed_runs import SpeedRun, read_speed_runs
from virnucpro_smk.report.speed_runs import pair_ratios, ratio_interval, speed_test
from virnucpro_smk.speed import predict_timing
from virnucpro_smk.speed.predict_timing import TimingPlan, busy_cpu_seconds, time_predict

B, C = "esm2_3b_2560d", "fastesm650_1280d"


def runs(seconds_b, seconds_c, **changes) -> list[SpeedRun]:
    out = []
    for k, (b, c) in enumerate(zip(seconds_b, seconds_c, strict=True)):
        for model, s in ((B, b), (C, c)):
            out.append(
                SpeedRun(
                    model,
                    k,
                    len(out),
                    s,
                    {"preprocess": 1.0, "dna": 2.0, "protein": s - 4.0, "predict": 1.0},
                    "cuda",
                    {"dnaberts_768d": "bfloat16", model: "bfloat16"},
                    (0.1, 0.1, 0.1),
                    (1.0, 0.5, 0.2),
                    0.02,
                )
            )
    return [replace(r, **changes) for r in out]


def test_ratio_interval_by_hand():
    ratios = [2.0, 2.5, 3.0]
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 degrees of freedom)
    lo, hi = ratio_interval(ratios)
    assert lo == pytest.approx(math.exp(mean - half)) and hi == pytest.approx(math.exp(mean + half))
    assert ratio_interval([2.0]) is None


def test_pairs_are_adjacent_runs_of_one_repeat():
    r = runs([30.0, 31.0, 29.0], [10.0, 10.0, 14.5])
    assert pair_ratios(r, B, C) == pytest.approx([3.0, 3.1, 2.0])


def test_fast_enough_too_slow_or_straddling():
    fast = speed_test(runs([30.0, 31.0, 30.5], [10.0, 10.2, 10.1]), B, C, 2.0, 0.5)
    assert fast.speed == "fast_enough" and fast.reasons == [] and fast.conditions_ok
    assert fast.speedup == pytest.approx(3.0, rel=0.02) and fast.speedup_ci95[0] >= 2.0
    slow = speed_test(runs([12.0, 12.1, 12.2], [10.0, 10.0, 10.1]), B, C, 2.0, 0.5)
    assert slow.speed == "too_slow" and "below the required 2x" in slow.reasons[0]
    wide = speed_test(runs([30.0, 15.0, 45.0], [10.0, 10.0, 10.0]), B, C, 2.0, 0.5)
    assert wide.speed == "inconclusive" and "straddles" in wide.reasons[0]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"outside_load": 1.7}, "outside load during 6 of 6 run(s)"),
        ({"outside_load": None}, "outside load not measurable"),
        ({"gpu_processes_before": ("gpu0:pid4242",)}, "other processes on the GPU"),
    ],
)
def test_unequal_conditions_make_the_speed_inconclusive(changes, problem):
    good = runs([30.0, 31.0, 30.5], [10.0, 10.2, 10.1])
    out = speed_test([replace(r, **changes) for r in good], B, C, 2.0, 0.5)
    assert out.speed == "inconclusive" and not out.conditions_ok
    assert any(problem in p for p in out.condition_problems), out.condition_problems
    assert out.speedup == pytest.approx(3.0, rel=0.02)  # the figure is shown, not trusted


def test_other_jobs_or_other_dtypes_make_the_speed_inconclusive():
    good = runs([30.0, 31.0, 30.5], [10.0, 10.2, 10.1])
    jobs = speed_test(good, B, C, 2.0, 0.5, overlapping_jobs=["bench/x/train.tsv"])
    assert jobs.speed == "inconclusive" and "1 other job(s)" in jobs.condition_problems[0]
    fp32 = [replace(r, dtypes={**r.dtypes, C: "float32"}) if r.model == C else r for r in good]
    dtype = speed_test(fp32, B, C, 2.0, 0.5)
    assert dtype.speed == "inconclusive" and "different dtypes" in dtype.condition_problems[0]


def test_too_few_repeats_are_inconclusive_even_when_fast():
    out = speed_test(runs([30.0], [10.0]), B, C, 2.0, 0.5)
    assert out.speed == "inconclusive" and out.speedup == 3.0 and out.speedup_ci95 is None
    assert "1 pair(s) of runs, at least 3 needed" in out.reasons[0]
    assert speed_test([], B, C, 2.0, 0.5).speed == "inconclusive"


def test_the_runner_alternates_models_and_sees_outside_load(tmp_path, monkeypatch):
    """Stage processes replaced by a short sleep: B C B C, every stage timed, the runs JSON
    read back as written; a CPU spinner outside the runs shows as outside load."""
    if busy_cpu_seconds() is None:
        pytest.skip("no /proc/stat on this system")
    for name in ("dna_48d", B, C):
        (tmp_path / f"{name}.json").write_text(json.dumps({"dtype": "float32"}))
    plan = TimingPlan(
        fasta=str(tmp_path / "in.fa"),
        chunk_length=300,
        dna_model="dna_48d",
        baseline=B,
        candidate=C,
        registry={n: {} for n in ("dna_48d", B, C)},
        model_dirs={n: str(tmp_path / "none") for n in ("dna_48d", B, C)},
        precision={n: str(tmp_path / f"{n}.json") for n in ("dna_48d", B, C)},
        checkpoints={B: str(tmp_path / "b.pt"), C: str(tmp_path / "c.pt")},
        device="cpu",
        ambiguous="drop",
        predict={},
        extraction=default_extraction(loader_workers=0, compile=False),
        repeats=2,
    )
    (tmp_path / "in.fa").write_text(">a\nACGT\n")

    def sleep(seconds):
        return [sys.executable, "-S", "-c", f"import time; time.sleep({seconds})"]

    monkeypatch.setattr(predict_timing, "stage_command", lambda stage, spec: sleep(0.02))
    out = tmp_path / "runs.json"
    got = time_predict(plan, out, tmp_path / "work")
    assert [r.model for r in got] == [B, C, B, C] and [r.repeat for r in got] == [0, 0, 1, 1]
    assert all(set(r.stage_seconds) == {"preprocess", "dna", "protein", "predict"} for r in got)
    assert all(0.08 <= r.seconds < 5 for r in got) and read_speed_runs(out) == got
    assert not (tmp_path / "work").exists()
    monkeypatch.setattr(predict_timing, "stage_command", lambda stage, spec: sleep(0.1))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = time_predict(replace(plan, repeats=1), out, tmp_path / "work")
    finally:
        spinner.kill()
        spinner.wait()
    assert all(r.outside_load is not None and r.outside_load > 0.7 for r in busy), busy
    assert os.getloadavg()  # recorded beside it


def _bench(path, seconds, end):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t10\n")
    os.utime(path, (end, end))
    return path


def test_jobs_that_overlapped_the_timing_job_are_found_from_benchmark_files(tmp_path):
    from virnucpro_smk.report.job_benchmarks import overlapping_jobs

    timing = _bench(tmp_path / "time_predict/c.tsv", 10, 1000)  # ran 990-1000
    before = _bench(tmp_path / "prep/a.tsv", 50, 990)  # finished as the timing job started
    during = _bench(tmp_path / "dna/b.tsv", 4, 999)  # ran 995-999: beside the timed runs
    every = [str(p) for p in (timing, before, during)]
    assert overlapping_jobs([timing], every) == [str(during)]
    os.utime(during, (1020, 1020))  # now it ran 1016-1020: after
    assert overlapping_jobs([timing], every) == []
