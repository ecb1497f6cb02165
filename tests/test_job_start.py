"""The GPU's clock starts at the first batch: unpadded batches run without a mask (same
vectors), resume points sync off the loop thread, the weights are read once in the run dtype
(a copy checked by hash) on a thread, and each job's stats say how long its GPU waited.

CUDA cannot run here: the pinned-memory and side-stream path of the weight reader is the
CPU path's twin (``run_weights._stream``); everything else runs for real on the CPU."""

import json
import threading
import time
from dataclasses import replace

import pytest
import torch
from test_embeddings import _extract, _sequences, _shard_files

from conftest import run_extraction
from virnucpro_smk.models.embeddings import (
    embed_batches,
    load_encoder,
    token_budget_batches,
)
from virnucpro_smk.models.run_weights import (
    WeightPrefetch,
    copy_dir,
    usable_copy,
    write_run_copy,
)
from virnucpro_smk.models.shard_resume import ResumableShard
from virnucpro_smk.models.store import weight_files
from virnucpro_smk.runtime.device_peaks import peak_tflops
from virnucpro_smk.runtime.gpu_monitor import GpuMonitor
from whole_embeddings import read_embeddings

MODELS = ["standin_dnabert_48d", "standin_esm2_64d"]


@pytest.mark.parametrize("name", MODELS)
def test_a_batch_without_padding_runs_unmasked_with_the_same_vectors(standins, name):
    """DNABERT-S (our encoder) and ESM (transformers): no mask equals an all-ones mask; in
    extraction, unpadded pieces reach the model without a mask, padded ones with theirs."""
    spec, directory = standins[name]
    encoder = load_encoder(spec, directory, "cpu")
    tokens = encoder.tokenize(_sequences(spec, 4, seed=3))
    width = min(len(t) for t in tokens)
    ids = torch.tensor([t[:width] for t in tokens])
    with torch.inference_mode():
        masked = encoder.hidden(ids, torch.ones_like(ids))
        unmasked = encoder.hidden(ids, None)
    assert torch.equal(masked, unmasked)

    masks = []
    forward = encoder.model.forward

    def spy(*args, **kwargs):
        masks.append(kwargs.get("attention_mask", args[1] if len(args) > 1 else None))
        return forward(*args, **kwargs)

    encoder.model.forward = spy
    sequences = _sequences(spec, 7, seed=4)
    sequences = [sequences[0], *sequences]  # two rows of one length, then mixed lengths
    tokens = encoder.tokenize(sequences)
    batches = token_budget_batches([len(t) for t in tokens], 10**6)
    batches = [[0, 1], [k for b in batches for k in b if k > 1]]  # equal lengths, then mixed
    stats = embed_batches(encoder, sequences, batches, lambda index, vectors: None)
    assert [m is None for m in masks] == [True, False]
    assert stats.unmasked_passes == 1 and stats.forward_passes == 2


def test_device_peaks_are_looked_up_by_exact_name():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.4  # SXM
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0  # was given the SXM figure
    assert peak_tflops("NVIDIA H200") == 989.4
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops("NVIDIA L40S") == 362.1
    assert peak_tflops("NVIDIA GeForce RTX 4090") == 165.2
    for other in ("NVIDIA H100", "NVIDIA H100 NVL", "Tesla T4", "cpu", "", None):
        assert peak_tflops(other) == "unknown", other


def test_gpu_use_is_averaged_over_the_steady_state_only():
    monitor = GpuMonitor("cuda:0")
    monitor.times, monitor.util = [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 90.0, 80.0, 70.0, 0.0]
    assert monitor.steady_util_mean(1.5, 4.5) == 80.0  # the load and the final write left out
    assert monitor.steady_util_mean(5.5, 6.0) == "n/a"
    assert monitor.steady_util_mean(None, None) == "n/a"


def test_an_extraction_job_reports_when_its_device_started_and_stopped_working(standins, tmp_path):
    spec, directory = standins["standin_fastesm_32d"]
    began = time.perf_counter()
    _, stats, _ = _extract(spec, directory, tmp_path, _sequences(spec, 12), started=began)
    json.dumps(stats)  # what the rule writes as the job's stats JSON
    assert 0 < stats["start_seconds"] < stats["seconds_to_first_batch"]
    assert stats["seconds_to_first_batch"] < time.perf_counter() - began
    assert stats["seconds_after_last_batch"] >= stats["write_seconds"] > 0
    # on a CPU: no NVML, no CUDA peak, no table entry
    assert stats["gpu_util_mean_pct"] == "n/a" and stats["peak_gpu_mib"] is None
    assert stats["device_peak_tflops"] == "unknown"
    assert stats["compile"] == "off" and stats["weights_read_seconds"] >= 0


def test_resume_points_sync_off_the_loop_thread(tmp_path, monkeypatch):
    """batch_done returns while the fsync runs; the record appears only after it; a resume
    point due while one is syncing is skipped; force waits and records."""
    import virnucpro_smk.models.shard_resume as resume

    path = tmp_path / "m" / "shard_0000.safetensors"
    out = ResumableShard(path, ["a", "b"], {"model": "m", "width": 2}, 1e-9)
    out.first_batch([[0], [1]])
    release, syncing = threading.Event(), []
    fsync = resume.EmbeddingWriter.sync

    def slow_sync(writer):
        syncing.append(1)
        release.wait(10)
        fsync(writer)

    monkeypatch.setattr(resume.EmbeddingWriter, "sync", slow_sync)
    out.write_rows([0], torch.ones(1, 2))
    out.batch_done(1)  # returns at once, the fsync blocked in its thread
    assert syncing == [1] and not out.record_path.exists()
    out.batch_done(1)  # due again: skipped, one in flight
    assert syncing == [1]
    release.set()
    out.write_rows([1], torch.ones(1, 2))
    out.batch_done(2, force=True)
    assert json.loads(out.record_path.read_text())["batches_done"] == 2
    out.close()


def _extract_with(spec, directory, precision, tmp_path, sequences):
    """extract_shard with a given precision decision (``_extract`` decides float32)."""
    _, nuc, prot, index = _shard_files(tmp_path, sequences)
    out = tmp_path / spec.name / "shard_0000.safetensors"
    frames = nuc if spec.kind == "dna" else prot
    stats = run_extraction(spec, directory, frames, index, 0, out, 300, "cpu", precision)
    return out, stats


def test_the_run_dtype_copy_is_read_when_it_matches_and_refused_when_stale(standins, tmp_path):
    """A bf16 copy beside the stand-in's float32 weights: extraction reads it (its hash
    checked as it is read) and gets the vectors casting on load gave; a damaged copy fails
    the read; new verified weights make it stale and the job casts them again."""
    import shutil

    from virnucpro_smk.models.precision import decide_precision, write_precision

    spec, source = standins["standin_dnabert_48d"]
    directory = tmp_path / "model"  # a private copy: the session's stand-ins stay untouched
    shutil.copytree(source, directory)
    spec = replace(spec, source=str(directory))
    record = decide_precision(spec, directory, "cpu", candidate=torch.bfloat16, min_cosine=0.0)
    assert record["dtype"] == "bfloat16" and record["run_copy"] is None  # written on CUDA only
    precision = tmp_path / "precision.json"
    write_precision(record, precision)
    sequences = _sequences(spec, 10)
    cast, cast_stats = _extract_with(spec, directory, precision, tmp_path / "cast", sequences)
    assert cast_stats["weights_read_from"].startswith("the verified weights")

    copy = write_run_copy(spec, directory, "bfloat16")
    assert copy == copy_dir(directory, "bfloat16") / "model.safetensors"
    found, sha256, _ = usable_copy(spec, directory, "bfloat16")
    assert found == copy
    path, stats = _extract_with(spec, directory, precision, tmp_path / "copy", sequences)
    assert stats["weights_read_from"].startswith("the bfloat16 copy")
    assert torch.equal(read_embeddings(path).matrix, read_embeddings(cast).matrix)
    state = WeightPrefetch([copy], "cpu", torch.bfloat16, sha256).start().result()
    assert {t.dtype for t in state.values() if t.is_floating_point()} == {torch.bfloat16}

    data = bytearray(copy.read_bytes())
    data[-1] ^= 1  # one bit of the last weight
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="the copy is damaged"):
        WeightPrefetch([copy], "cpu", torch.bfloat16, sha256).start().result()
    assert write_run_copy(spec, directory, "bfloat16") == copy  # rebuilt: valid again
    assert usable_copy(spec, directory, "bfloat16")[0] == copy

    weights = weight_files(directory)[0]
    time.sleep(0.01)
    weights.touch()  # same bytes, new mtime: re-hashed, still the copy's source
    assert usable_copy(spec, directory, "bfloat16")[0] == copy
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name] = tensors[name] + 1
    save_file(tensors, str(weights))
    found, _, why = usable_copy(spec, directory, "bfloat16")
    assert found is None and "stale" in why  # (a job then also refuses the old decision)
