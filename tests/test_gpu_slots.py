"""The GPU slot allocator with simulated devices and concurrent processes."""

import multiprocessing as mp
import os
import signal
import time

import pytest

from virnucpro_smk.runtime.gpu_slots import gpu_slot, visible_devices


def _worker(lock_dir, n_devices, hold, log_path, env):
    if env is None:
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = env
    with gpu_slot(lock_dir, n_devices=n_devices, poll=0.02) as slot:
        start = time.monotonic()
        time.sleep(hold)
        end = time.monotonic()
    with open(log_path, "a") as out:
        out.write(f"{slot.device} {slot.index} {start} {end}\n")


def _run_workers(tmp_path, n_jobs, n_devices, env=None, hold=0.3):
    ctx = mp.get_context("fork")
    log_path = tmp_path / "slots.log"
    procs = [
        ctx.Process(target=_worker, args=(tmp_path / "locks", n_devices, hold, log_path, env))
        for _ in range(n_jobs)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    rows = [line.split() for line in log_path.read_text().splitlines()]
    return [(d, int(i), float(s), float(e)) for d, i, s, e in rows]


def _overlaps(a, b):
    return a[2] < b[3] and b[2] < a[3]


def test_concurrent_jobs_never_share_a_device(tmp_path):
    rows = _run_workers(tmp_path, n_jobs=7, n_devices=3)
    assert len(rows) == 7
    assert {d for d, *_ in rows} <= {"0", "1", "2"}
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if a[0] == b[0]:
                assert not _overlaps(a, b), f"device {a[0]} was given to two jobs at once"
    # with 3 devices at most 3 jobs run at the same time, and all 3 devices get used
    assert len({d for d, *_ in rows}) == 3
    events = sorted([(s, 1) for *_, s, _ in rows] + [(e, -1) for *_, e in rows])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 3


def test_scheduler_assignment_is_respected(tmp_path):
    rows = _run_workers(tmp_path, n_jobs=4, n_devices=8, env="5,7")
    assert {d for d, *_ in rows} == {"5", "7"}
    assert {(d, i) for d, i, *_ in rows} == {("5", 0), ("7", 1)}


def _hold_forever(lock_dir, held):
    with gpu_slot(lock_dir, n_devices=1, poll=0.02):
        held.set()
        time.sleep(60)


def test_a_killed_job_releases_its_device(tmp_path):
    ctx = mp.get_context("fork")
    held = ctx.Event()
    holder = ctx.Process(target=_hold_forever, args=(tmp_path / "locks", held))
    holder.start()
    assert held.wait(30), "the holder never took the device"
    # the device is taken: a second job must wait for it (the control for what follows)
    with pytest.raises(TimeoutError), gpu_slot(tmp_path / "locks", n_devices=1, timeout=0.2):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    with gpu_slot(tmp_path / "locks", n_devices=1, timeout=5) as slot:
        assert slot.device == "0" and slot.torch_device == "cuda:0"


def test_busy_pool_times_out(tmp_path):
    with (
        gpu_slot(tmp_path / "locks", n_devices=1),
        pytest.raises(TimeoutError),
        gpu_slot(tmp_path / "locks", n_devices=1, timeout=0.2, poll=0.05),
    ):
        pass


def test_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 3")
    assert visible_devices() == ["2", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_devices(n_devices=2) == ["0", "1"]


def test_a_job_on_a_local_slot_makes_its_device_current(tmp_path, monkeypatch):
    """With a slot taken, the slot's device is made current before any CUDA work, so nothing
    that names no device (pin-memory thread, torch.cuda calls) touches cuda:0, another job's.
    Faked CUDA: four visible devices, the first two held by other jobs."""
    import torch

    from virnucpro_smk.runtime import environment, gpu_slots

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    monkeypatch.setattr(environment, "resolve_device", lambda requested, gpus: "cuda")
    current = []
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    with (
        gpu_slots.gpu_slot(tmp_path),
        gpu_slots.gpu_slot(tmp_path),
        gpu_slots.job_device("cuda", 1, tmp_path) as device,
    ):
        assert device == "cuda:2"
        assert current == [2]  # made current before the job's first CUDA call
