"""Batched embedding extraction for one shard: DNABERT-S and ESM-2 family models.

Pooling follows the original VirNucPro:

* DNA: mean of the last hidden state over all tokens, [CLS] and [SEP] included (the original
  runs one sequence at a time; a masked mean over the same tokens gives the same vector);
* protein: mean over residues 1..L, BOS/EOS excluded, residues truncated at ``max_residues``
  (fair-esm's 1024).

Speed: records are sorted by token length and packed into batches under a token budget
without tokenizing the shard first (exact counts for proteins, a sampled estimate for DNA, see
``batch_plan.py``); each batch is tokenized, padded (and pinned) by a DataLoader worker while
the GPU runs the previous one (the GPU waits for one batch, not for the whole shard); the
model is loaded once per job straight onto its device in the dtype decided once per model by the
precision check (``precision.py``: bf16/fp16 on GPUs when within cosine 0.99 of float32,
float32 on CPUs), runs under ``torch.inference_mode()``, and each batch's vectors are
copied back asynchronously and written to their rows of the output file while the next batch
runs (memory: one batch, not the shard; resume points every few minutes, see
``shard_resume.py``). An extraction job reads its byte range of the identified frames file
directly (``frames/shards.tsv``); an empty shard writes a 0 x width file without loading the
model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from .. import __version__
from ..errors import ModelMismatchError
from ..io.embedding_files import write_embeddings
from ..preprocess.shards import read_shard_records
from ..runtime.device_peaks import peak_tflops
from ..runtime.environment import package_versions, resolve_device
from ..runtime.gpu_monitor import NA, GpuMonitor
from ..runtime.gpu_slots import job_device
from ..runtime.progress import Progress
from .batch_plan import BatchTokenizer, DnaTokens, EsmTokens, plan_batches, token_budget_batches
from .compile import compile_encoder
from .encoder import Encoder
from .extraction_job import ExtractionJob, ExtractionSettings
from .precision_record import read_precision, torch_dtype
from .registry import ModelSpec
from .run_weights import WeightPrefetch, usable_copy, wants_copy
from .shard_resume import ResumableShard
from .store import check_model_dir, model_provenance, weight_files

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _dna_tokenizer(model_dir: Path) -> tuple[DnaTokens, int]:
    from tokenizers import Tokenizer, processors

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    vocab = tokenizer.get_vocab()
    if tokenizer.post_processor is None:  # add [CLS] ... [SEP] as the HF tokenizer would
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return DnaTokens(tokenizer), vocab.get("[PAD]", 3)


def tokenizer_of(
    spec: ModelSpec, model_dir: str | os.PathLike[str]
) -> tuple[BatchTokenizer, int, str]:
    """The model's batch tokenizer, padding id and pooling rule (no weights read: extraction
    plans its batches with it while the weights are read)."""
    if spec.architecture == "dnabert2":
        tokenize, pad_id = _dna_tokenizer(Path(model_dir))
        return tokenize, pad_id, "all_tokens"
    from .esm import EsmTokenizer

    esm_tok = EsmTokenizer.from_dir(model_dir, spec.max_residues)
    return EsmTokens(esm_tok), esm_tok.pad_id, "residues"


def load_encoder(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    device: str,
    dtype: torch.dtype | None = None,
    state: dict[str, torch.Tensor] | None = None,
) -> Encoder:
    """Load a registry model from its local directory (offline) onto ``device``.

    ``dtype`` defaults to the registry's dtype for the device type; extraction jobs pass the
    one decided by the model's precision check. Weights go straight to the device in that
    dtype (see ``store.load_state``), or come as ``state``, read already (extraction jobs read
    them while starting: ``run_weights.WeightPrefetch``).
    """
    model_dir = Path(model_dir)
    check_model_dir(spec, model_dir)
    torch_device = torch.device(device)
    if dtype is None:
        dtype = DTYPES[spec.dtype_for("cpu" if torch_device.type == "cpu" else "cuda")]
    if spec.trust_remote_code:
        from transformers import AutoModel

        log.warning("%s: running the model's own code (trust_remote_code: true)", spec.name)
        model = AutoModel.from_pretrained(
            model_dir, trust_remote_code=True, local_files_only=True, dtype=dtype
        ).to(torch_device)
    elif spec.architecture == "dnabert2":
        from .dnabert import load_dnabert

        model = load_dnabert(model_dir, torch_device, dtype, state)
    else:
        from .esm import load_esm

        model = load_esm(
            model_dir,
            token_dropout=spec.token_dropout,
            dtype=dtype,
            device=torch_device,
            state=state,
        )
    tokenize, pad_id, pooling = tokenizer_of(spec, model_dir)
    hidden = _hidden_size(model)
    if hidden != spec.width:
        raise ModelMismatchError(
            f"{model_dir}: the model's hidden size is {hidden}, but {spec.name} declares "
            f"width {spec.width}"
        )
    return Encoder(spec, model, tokenize, pad_id, pooling, torch_device, dtype)


def _hidden_size(model: torch.nn.Module) -> int:
    return int(model.config.hidden_size)


class PaddedBatch(NamedTuple):
    """One planned batch as a DataLoader worker hands it over."""

    # (rows, ids, mask, padded) each: ``padded`` False when every row has the piece's length
    pieces: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]]
    tokens: int  # real tokens (padding excluded)
    padded: int  # padded tokens over the pieces
    seconds: float  # worker time tokenizing and padding


class _PaddedBatches(Dataset):
    """Each item is one planned batch, tokenized and padded where it is asked for (a worker).

    The batch is packed into pieces (forward passes) under ``budget`` by the real token
    counts, longest first: a DNA batch, planned on estimates at several budgets
    (``batch_plan``), gives several; an exactly planned batch (protein) is one piece, its rows
    in plan order.
    """

    def __init__(
        self,
        sequences: Sequence[str],
        batches: list[list[int]],
        tokenizer: BatchTokenizer,
        pad_id: int,
        budget: int,
    ) -> None:
        self.sequences, self.batches = sequences, batches
        self.tokenizer, self.pad_id, self.budget = tokenizer, pad_id, budget

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, item: int) -> PaddedBatch:
        began = time.perf_counter()
        index = self.batches[item]
        tokens = self.tokenizer([self.sequences[i] for i in index])
        pieces = []
        padded = 0
        for part in token_budget_batches([len(t) for t in tokens], self.budget):
            width = max(len(tokens[k]) for k in part)
            ids = torch.full((len(part), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(part), width), dtype=torch.long)
            for row, k in enumerate(part):
                toks = tokens[k]
                ids[row, : len(toks)] = torch.tensor(toks, dtype=torch.long)
                mask[row, : len(toks)] = 1
            rows = torch.tensor([index[k] for k in part], dtype=torch.long)
            pieces.append((rows, ids, mask, any(len(tokens[k]) < width for k in part)))
            padded += len(part) * width
        real = sum(len(t) for t in tokens)
        return PaddedBatch(pieces, real, padded, time.perf_counter() - began)


@dataclass
class ExtractionStats:
    records: int
    tokens: int
    seconds: float
    batches: int
    peak_gpu_mib: float | None
    device_name: str
    wait_seconds: float = 0.0  # the loop waiting for the next batch from the workers
    write_seconds: float = 0.0  # rows copied back and written, in the loop
    padded_tokens: int = 0  # tokens the model ran, padding included
    forward_passes: int = 0  # batches cut in pieces by the workers count once per piece
    worker_seconds: float = 0.0  # tokenizing and padding, summed over the workers
    unmasked_passes: int = 0  # forward passes without padding, run without a mask
    # time.perf_counter() when the first batch went to the device and when the last one's
    # rows were written (None when no batch ran): the job's steady state lies between
    first_batch_at: float | None = None
    last_batch_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        seconds = self.seconds if self.seconds > 0 else float("nan")
        return {
            "records": self.records,
            "tokens": self.tokens,
            "padded_tokens": self.padded_tokens,
            "seconds": round(self.seconds, 4),
            "batches": self.batches,
            "forward_passes": self.forward_passes,
            "unmasked_passes": self.unmasked_passes,
            "records_per_s": round(self.records / seconds, 2) if self.records else 0.0,
            "tokens_per_s": round(self.tokens / seconds, 1) if self.tokens else 0.0,
            "peak_gpu_mib": self.peak_gpu_mib,
            "device_name": self.device_name,
            "wait_seconds": round(self.wait_seconds, 4),
            "worker_seconds": round(self.worker_seconds, 4),
            "write_seconds_in_loop": round(self.write_seconds, 4),
        }


RowSink = Callable[[torch.Tensor, torch.Tensor], None]


def embed_batches(
    encoder: Encoder,
    sequences: Sequence[str],
    batches: list[list[int]],
    write: RowSink,
    loader_workers: int = 0,
    progress_seconds: float | None = None,
    start_batch: int = 0,
    batch_done: Callable[[int], None] | None = None,
) -> ExtractionStats:
    """Embed ``batches[start_batch:]`` of ``sequences``; hand each batch's rows to
    ``write(index, vectors)``.

    The batches are tokenized and padded by ``loader_workers`` DataLoader processes (in this
    process when 0) while the model runs; progress is logged every ``progress_seconds``
    (extraction jobs: ``extraction.progress_seconds``; None: ``Progress``'s own interval).
    Rows go out as batches finish, so memory is one batch, not the shard. On a GPU, a batch's
    vectors are copied back asynchronously and written while the next batch runs.
    ``batch_done(k)`` is called once the rows of the first ``k`` batches were all written.
    """
    start = time.perf_counter()
    cuda = encoder.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(encoder.device)
    todo = batches[start_batch:]
    loader = DataLoader(
        _PaddedBatches(
            sequences, todo, encoder.tokenize, encoder.pad_id, encoder.spec.tokens_per_batch
        ),
        batch_size=None,
        shuffle=False,
        num_workers=loader_workers,
        pin_memory=cuda,
        persistent_workers=False,
    )
    rows = sum(len(b) for b in todo)
    progress = Progress(f"{encoder.spec.name} embeddings", rows, logger=log)
    if progress_seconds is not None:
        progress.interval = progress_seconds
    wait = written = worker = 0.0
    tokens = padded = passes = unmasked = 0
    first_batch_at: float | None = None
    # (rows, vectors on the host, copy-back event, whether it closes its planned batch)
    pending: tuple[torch.Tensor, torch.Tensor, Any, bool] | None = None
    done = start_batch

    def flush() -> None:
        nonlocal pending, written, done
        if pending is None:
            return
        index, host, event, closes = pending
        began = time.perf_counter()
        if event is not None:
            event.synchronize()
        write(index, host)
        written += time.perf_counter() - began
        progress.update(len(index))
        if closes:
            done += 1
            if batch_done is not None:
                batch_done(done)
        pending = None

    with torch.inference_mode():
        batches_iter = iter(loader)
        while True:
            began = time.perf_counter()
            item = next(batches_iter, None)
            wait += time.perf_counter() - began
            if item is None:
                break
            tokens += item.tokens
            padded += item.padded
            worker += item.seconds
            for k, (index, ids, mask, has_padding) in enumerate(item.pieces):
                ids = ids.to(encoder.device, non_blocking=True)
                mask = mask.to(encoder.device, non_blocking=True)
                if first_batch_at is None:
                    first_batch_at = time.perf_counter()
                vectors = encoder.embed(ids, mask, has_padding)
                passes += 1
                unmasked += not has_padding
                event = None
                if cuda:  # queue the copy back; write the previous piece while this one runs
                    host = vectors.to("cpu", non_blocking=True)
                    event = torch.cuda.Event()
                    event.record()
                else:
                    host = vectors
                flush()
                pending = (index, host, event, k == len(item.pieces) - 1)
        flush()
    if cuda:
        torch.cuda.synchronize(encoder.device)
    last_batch_at = time.perf_counter() if first_batch_at is not None else None
    progress.finish()
    return ExtractionStats(
        records=rows,
        tokens=tokens,
        seconds=time.perf_counter() - start,
        batches=len(todo),
        peak_gpu_mib=torch.cuda.max_memory_allocated(encoder.device) / 2**20 if cuda else None,
        device_name=torch.cuda.get_device_name(encoder.device) if cuda else "cpu",
        wait_seconds=wait,
        write_seconds=written,
        padded_tokens=padded,
        forward_passes=passes,
        worker_seconds=worker,
        unmasked_passes=unmasked,
        first_batch_at=first_batch_at,
        last_batch_at=last_batch_at,
    )


def embed_sequences(
    encoder: Encoder,
    sequences: Sequence[str],
    loader_workers: int = 0,
    progress_seconds: float | None = None,
) -> tuple[torch.Tensor, ExtractionStats]:
    """Pooled vectors of ``sequences`` (rows in input order) and throughput figures: in-process
    embedding of a few sequences (verification, the precision check, tests), outside an
    extraction job and its settings."""
    start = time.perf_counter()
    sequences = list(sequences)
    batches = plan_batches(encoder.tokenize, sequences, encoder.spec.tokens_per_batch)
    out = torch.zeros((len(sequences), encoder.spec.width), dtype=torch.float32)

    def write(index: torch.Tensor, vectors: torch.Tensor) -> None:
        out[index] = vectors.to(torch.float32)

    stats = embed_batches(encoder, sequences, batches, write, loader_workers, progress_seconds)
    stats.seconds = time.perf_counter() - start
    return out, stats


def _pooling_name(spec: ModelSpec) -> str:
    return "mean_all_tokens" if spec.kind == "dna" else "mean_residues"


def _import_model_code(spec: ModelSpec) -> threading.Thread:
    """Import the model's modules on a thread, so the imports run while CUDA starts on the
    main thread and ``load_encoder`` finds them done: transformers for ESM, and the meta-device
    kernels torch imports the first time a module is built on the meta device (~2 s)."""

    def run() -> None:
        try:
            if spec.architecture == "dnabert2" and not spec.trust_remote_code:
                from . import dnabert  # noqa: F401
            else:
                from . import esm  # noqa: F401
            torch.nn.init.normal_(torch.empty(2, 2, device="meta"))
        except Exception:  # the main thread's own import raises it, with its traceback
            pass

    thread = threading.Thread(target=run, name="imports", daemon=True)
    thread.start()
    return thread


def _start_weights(
    spec: ModelSpec, model_dir: str | os.PathLike[str], torch_device: str, dtype: torch.dtype
) -> tuple[WeightPrefetch | None, str]:
    """Start reading the job's weights (the run-dtype copy when it is usable) on a thread."""
    if spec.trust_remote_code:
        return None, "the model's own code loads its weights"
    dtype_name = str(dtype).removeprefix("torch.")
    copy, sha256, why = usable_copy(spec, model_dir, dtype_name)
    if copy is not None:
        files, source = [copy], why
    else:
        if wants_copy(spec, model_dir, dtype_name):
            log.warning("%s: %s; casting the verified weights on load", spec.name, why)
        files, source = weight_files(model_dir), f"the verified weights in {model_dir}"
        if not files:  # pickled weights of a local model: load_encoder reads them itself
            return None, f"the pickled weights in {model_dir}"
    prefetch = WeightPrefetch(
        files, torch_device, dtype, sha256, model_dir if copy is None else None
    )
    return prefetch.start(), source


def extract_shard(
    job: ExtractionJob,
    settings: ExtractionSettings,
    *,
    gpu_requested: int | None = None,
    gpu_lock_dir: str | os.PathLike[str] | None = None,
    started: float | None = None,
) -> dict[str, Any]:
    """Embed the job's shard of the identified frames with one model; write its file.

    The model is loaded once, in the dtype the model's precision decision says
    (``job.precision_json``, rule check_precision). The job's GPU waits for as little as
    possible: the records are read and the output file is created (ids, identity, room for every
    row: a limit of the format or the disk fails the job here) before the job takes its device;
    the model's code is imported while CUDA starts; the weights (the run-dtype copy when there
    is one, ``run_weights``) are read on a thread while the batches are planned. Rows are
    written as batches finish, and every ``settings.checkpoint_seconds`` of work a resume point
    is recorded off the loop thread (``shard_resume``): a killed job rerun resumes there. An
    empty shard writes a valid 0 x width file without loading the model (nor importing
    transformers). A job given a GPU (``gpu_requested``) never falls back to the CPU; on CUDA it
    first takes a GPU slot (one device per job, see gpu_slots). ``started`` is a
    ``time.perf_counter()`` taken when the job's process started, so the import/start-up time is
    measured too. ``settings.compile`` is ``extraction.compile`` (``compile.py``).

    The file holds identity only (model, commit, dtype, pooling, chunk length, shard,
    versions, device type), never a figure of the run, so a resumed job's file is byte for
    byte an uninterrupted run's. The run's figures are returned instead (the rule writes
    them to its stats JSON): ``start_seconds``, ``load_seconds``, ``compile_seconds`` (and
    ``compile``: what was decided), ``plan_seconds``, ``embed_seconds``, ``write_seconds``,
    ``resumed_at_batch``, ``seconds_to_first_batch`` (from the process's start to the first
    batch on the device), ``seconds_after_last_batch`` (from the last batch's rows to the
    end: publishing the file, after the GPU slot is released), ``gpu_util_mean_pct`` (NVML,
    the steady state between them), ``peak_gpu_mib`` (torch's peak allocation),
    ``device_peak_tflops`` (the device's bf16 peak, "unknown" off the table:
    ``runtime.device_peaks``), the device, NVML's GPU figures
    and the throughput figures.
    """
    entered = time.perf_counter()
    started = started if started is not None else entered
    timings = {"start_seconds": round(entered - started, 4)}
    spec, model_dir, output, precision_json = (
        job.spec,
        job.model_dir,
        job.output,
        job.precision_json,
    )
    records = read_shard_records(job.frames, job.job_table, job.shard, spec.kind)
    provenance = model_provenance(spec, model_dir) if spec.provider == "hub" else None
    meta: dict[str, Any] = {
        **spec.identity(),
        "pooling": _pooling_name(spec),
        "chunk_length": job.chunk_length,
        "shard": job.shard,
        "project_version": __version__,
        "versions": package_versions(),
        **job.extra_meta,
    }
    if not records:
        return _empty_shard(spec, job.shard, output, precision_json, provenance, meta, timings)
    device_type = resolve_device(job.device, gpu_requested)  # a GPU job without CUDA fails here
    record = read_precision(precision_json, spec, device_type)
    if provenance is None:  # local/stand-in: reuse the precision job's hash if unchanged
        provenance = model_provenance(spec, model_dir, known=record)
    if provenance["model_commit"] != record.get("model_commit"):
        raise ModelMismatchError(
            f"{precision_json}: decided for {spec.name} at {record.get('model_commit')}, "
            f"but the weights are now {provenance['model_commit']}; rerun check_precision"
        )
    dtype = torch_dtype(record)
    meta.update(
        model_commit=provenance["model_commit"],
        dtype=str(dtype).removeprefix("torch."),
        allow_tf32=bool(record.get("allow_tf32")),
        precision_min_cosine=record.get("min_cosine"),
        device=device_type,  # the type, not the index: cuda:3 is the run
    )
    # the file first: its limits (ids, header, disk space) fail the job before GPU work
    out = ResumableShard(output, [rid for rid, _ in records], meta, settings.checkpoint_seconds)
    try:
        imports = _import_model_code(spec)
        # On a GPU node, hold one device for the whole job (released even if it is killed).
        with job_device(job.device, gpu_requested, gpu_lock_dir) as torch_device:
            weights, source = _start_weights(spec, model_dir, torch_device, dtype)
            with GpuMonitor(torch_device) as monitor:
                stats = _embed_into(
                    out,
                    spec,
                    model_dir,
                    records,
                    torch_device,
                    dtype,
                    record,
                    settings,
                    weights,
                    imports,
                )
            first, last = stats.pop("first_batch_at"), stats.pop("last_batch_at")
            name = stats["device_name"]
            stats = {
                **stats,
                **timings,
                "device": torch_device,
                "weights_read_from": source,
                "gpu_util_mean_pct": monitor.steady_util_mean(first, last),
                "device_peak_tflops": peak_tflops(name),
                "gpu": monitor.summary(),
            }
            log.info("%s: GPU use (NVML, about once a second): %s", spec.name, stats["gpu"])
            if torch_device != "cpu":  # the model is gone: the slot's next job gets its memory
                torch.cuda.empty_cache()
        # the final metadata, fsync and rename once the GPU slot is free for the next job
        start = time.perf_counter()
        out.publish()
    finally:
        out.close()
    ended = time.perf_counter()
    stats["write_seconds"] = round(ended - start, 4)
    stats["seconds_to_first_batch"] = round(first - started, 4) if first is not None else None
    stats["seconds_after_last_batch"] = round(ended - last, 4) if last is not None else None
    log.info("%s: wrote %s (%s)", spec.name, output, stats)
    return stats


def _empty_shard(
    spec: ModelSpec,
    shard: int,
    output: str | os.PathLike[str],
    precision_json: str | os.PathLike[str],
    provenance: dict[str, Any] | None,
    meta: dict[str, Any],
    timings: dict[str, Any],
) -> dict[str, Any]:
    """A 0 x width file, no model loaded (nor transformers imported)."""
    record = read_precision(precision_json, spec, None)
    commit = provenance or {"model_commit": record.get("model_commit")}
    start = time.perf_counter()
    empty = torch.zeros((0, spec.width), dtype=torch.float32)
    stats = {
        **timings,
        "records": 0,
        "tokens": 0,
        "load_seconds": 0.0,
        "compile_seconds": 0.0,
        "embed_seconds": 0.0,
        "device": "none",
        "seconds_to_first_batch": None,
        "seconds_after_last_batch": None,
        "gpu_util_mean_pct": NA,
        "peak_gpu_mib": None,
        "device_peak_tflops": peak_tflops(None),
        "gpu": GpuMonitor("cpu").summary(),
    }
    write_embeddings(
        output,
        [],
        empty,
        {
            **meta,
            "model_commit": commit["model_commit"],
            "dtype": record.get("dtype"),
            "device": "none",
        },
    )
    stats["write_seconds"] = round(time.perf_counter() - start, 4)
    log.info("%s: shard %d is empty: wrote a 0 x %d file", spec.name, shard, spec.width)
    return stats


def _probe(encoder: Encoder, sequences: Sequence[str], batches: list[list[int]], first: int):
    """The first piece of the first batch this run embeds, on the device: the compile check's
    sample of the job's own data (None when no batch is left)."""
    if first >= len(batches):
        return None
    item = _PaddedBatches(
        sequences, batches[first : first + 1], encoder.tokenize, encoder.pad_id,
        encoder.spec.tokens_per_batch,
    )[0]  # fmt: skip
    _, ids, mask, padded = item.pieces[0]
    return ids.to(encoder.device), mask.to(encoder.device), padded


def _embed_into(
    out: ResumableShard,
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    records: list[tuple[str, str]],
    torch_device: str,
    dtype: torch.dtype,
    record: dict[str, Any],
    settings: ExtractionSettings,
    weights: WeightPrefetch | None = None,
    imports: threading.Thread | None = None,
) -> dict[str, Any]:
    """Plan the batches while the weights are read, load the model, decide compilation, and
    embed the batches a killed run did not finish.

    Planning tokenizes nothing for a protein model and a fixed sample for a DNA model
    (``batch_plan``): the workers tokenize each batch while the model runs the previous one.
    """
    torch.backends.cuda.matmul.allow_tf32 = bool(record.get("allow_tf32"))
    if torch_device != "cpu" and torch.cuda.get_device_name(torch_device) != record.get(
        "device_name"
    ):
        log.warning(
            "%s: precision was decided on %s, this job runs on %s",
            spec.name,
            record.get("device_name"),
            torch.cuda.get_device_name(torch_device),
        )
    start = time.perf_counter()
    sequences = [s for _, s in records]
    tokenizer, _, _ = tokenizer_of(spec, model_dir)
    batches = plan_batches(tokenizer, sequences, spec.tokens_per_batch)
    first = out.first_batch(batches)
    plan_seconds = time.perf_counter() - start
    start = time.perf_counter()
    if imports is not None:
        imports.join()
    state = weights.result() if weights is not None else None
    encoder = load_encoder(spec, model_dir, torch_device, dtype, state)
    del state
    load_seconds = round(time.perf_counter() - start, 4)
    # extraction.compile: auto keeps a compiled model only when it agrees with eager on one
    # of this job's batches, within the precision decision's tolerance
    encoder, compile_seconds, compiled = compile_encoder(
        encoder,
        settings.compile,
        lambda: _probe(encoder, sequences, batches, first),
        float(record.get("threshold") or 0.99),
    )
    log.info(
        "%s: %d records on %s (%s%s, weights read in %.1f s while planning, loaded in %.1f s "
        "after; compile: %s)",
        spec.name,
        len(records),
        torch_device,
        encoder.dtype,
        ", TF32 matmuls" if record.get("allow_tf32") else "",
        weights.seconds if weights is not None else 0.0,
        load_seconds,
        compiled,
    )
    extraction = embed_batches(
        encoder,
        sequences,
        batches,
        out.write_rows,
        settings.loader_workers,
        settings.progress_seconds,
        start_batch=first,
        batch_done=out.batch_done,
    )
    out.batch_done(len(batches), force=True)  # a kill before the rename loses no batch
    # records and batches: the shard's; tokens and the timers: what this run embedded
    return {
        **extraction.as_dict(),
        "records": len(records),
        "records_embedded": extraction.records,
        "batches": len(batches),
        "resumed_at_batch": first,
        "compute_seconds": round(
            extraction.seconds - extraction.wait_seconds - extraction.write_seconds, 4
        ),
        "load_seconds": load_seconds,
        "weights_read_seconds": round(weights.seconds, 4) if weights is not None else None,
        "compile_seconds": round(compile_seconds, 4),
        "compile": compiled,
        "plan_seconds": round(plan_seconds, 4),
        "embed_seconds": round(extraction.seconds + plan_seconds, 4),
        "first_batch_at": extraction.first_batch_at,
        "last_batch_at": extraction.last_batch_at,
    }
