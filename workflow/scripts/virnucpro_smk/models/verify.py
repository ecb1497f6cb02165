"""Check downloaded model weights against vectors the original VirNucPro produced.

A re-implemented encoder (native DNABERT-S, ESM-2 in ``EsmModel``) can load a checkpoint with
``strict=True`` and still compute something else: a wrong tokenizer, pooling, layer or
``token_dropout`` setting changes the vectors, not the shapes. The only end-to-end proof is to
embed the sequences the original embedded and compare with the original's own output
(``output_1_DNABERT_S.pt`` / ``output_1_ESM.pt`` from a run of the original's ``prediction.py``
in broadinstitute/virnucpro-broad, bundled as small reference files under
``tests/data/reference_vectors/``).

Pass criteria, per model:

* float32 (TF32 off): largest absolute difference to the reference <= ``FP32_MAX_ABS_DIFF``;
* the dtype the run uses (the model's precision decision, which extraction jobs load; the
  registry's dtype for the device when none is given): smallest per-frame cosine similarity
  to the reference >= ``RUN_DTYPE_MIN_COSINE``.

What a PASS shows and does not: the weights, tokenizer, layer and pooling reproduce the
original's vectors on four frames of two synthetic peptides. It is weak evidence on its own:
in ESM2 3B one dimension carries most of the norm, so unrelated peptides already have cosine
0.91-1.00 with each other; the float32 absolute-difference bound is the sharper test. The
end-to-end check (``classify.score_check``, ``verify.checkpoint``) adds the whole chain, scored
against the original's per-frame scores.

A model with no reference file (FastESM2_650: nothing published) is reported as not
verified, never as passed.

Reference files are safetensors with one tensor ``vectors`` (rows = frames, float32) and
string metadata: ``model`` (registry name), ``source`` (hub id the original ran), ``kind``,
``width``, ``ids`` and ``sequences`` (JSON lists, the model's input per row) and ``origin``
(where the figures come from). A registry entry matches a reference when the widths agree and
its name or its hub source does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError, ModelMismatchError
from ..formats.verification import MODEL_CHECKS, ModelCheck
from ..io.atomic import atomic_path, write_text_atomic
from .registry import ModelSpec
from .store import check_model_dir

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

FP32_MAX_ABS_DIFF = 1e-3
RUN_DTYPE_MIN_COSINE = 0.999
TENSOR = "vectors"
FORMAT = "virnucpro-smk-reference-vectors/1"
PASS, FAIL, NOT_VERIFIED = "PASS", "FAIL", "NOT VERIFIED"


# --------------------------------------------------------------------------- reference files


@dataclass(frozen=True)
class ReferenceInfo:
    """What a reference file is for, from its header alone (cheap: no torch, no tensors).

    The workflow reads this when it is parsed, to know which models' weights the job needs.
    """

    path: Path
    model: str
    source: str
    kind: str
    width: int

    def matches(self, spec: ModelSpec) -> bool:
        """Same width, and the same registry name or hub source."""
        return spec.width == self.width and (spec.name == self.model or spec.source == self.source)


R = TypeVar("R", bound=ReferenceInfo)


@dataclass(frozen=True)
class ReferenceVectors(ReferenceInfo):
    """One model's expected vectors for a few input sequences."""

    ids: list[str]
    sequences: list[str]
    vectors: torch.Tensor  # [len(ids), width] float32
    origin: str


def write_reference(
    path: str | os.PathLike[str],
    *,
    model: str,
    source: str,
    kind: str,
    ids: Sequence[str],
    sequences: Sequence[str],
    vectors: torch.Tensor,
    origin: str,
) -> Path:
    """Write a reference file atomically (see the module docstring for the layout)."""
    import torch
    from safetensors.torch import save_file

    if vectors.ndim != 2 or vectors.shape[0] != len(ids) or len(ids) != len(sequences):
        raise ValueError(
            f"{len(ids)} ids, {len(sequences)} sequences and vectors of shape "
            f"{tuple(vectors.shape)} do not line up"
        )
    meta = {
        "format": FORMAT,
        "model": model,
        "source": source,
        "kind": kind,
        "width": str(vectors.shape[1]),
        "ids": json.dumps(list(ids)),
        "sequences": json.dumps(list(sequences)),
        "origin": origin,
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({TENSOR: vectors.to(torch.float32).contiguous()}, str(tmp), meta)
    return path


def _read_header(path: Path) -> tuple[dict[str, str], list[int]]:
    """(metadata, shape of ``vectors``) from a safetensors header, without torch.

    The header is 8 bytes of little-endian length, then JSON; reading it by hand keeps the
    workflow's start-up free of torch. A malformed file is a one-line InputError.
    """
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 10_000_000:
                raise ValueError(f"header length {length}")
            header = json.loads(handle.read(length))
        return header.get("__metadata__") or {}, list(header[TENSOR]["shape"])
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise InputError(f"{path}: not a readable reference-vector file ({exc})") from None


def read_reference_info(path: str | os.PathLike[str]) -> ReferenceInfo:
    """Model, source, kind and width of a reference file, from its header alone."""
    path = Path(path)
    meta, shape = _read_header(path)
    if meta.get("format") != FORMAT:
        raise InputError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if len(shape) != 2 or shape[1] != int(meta["width"]):
        raise InputError(f"{path}: vectors of shape {shape} but width {meta['width']}")
    return ReferenceInfo(path, meta["model"], meta["source"], meta["kind"], int(shape[1]))


def load_reference(path: str | os.PathLike[str]) -> ReferenceVectors:
    """Read and check one reference file (header, ids, sequences, vectors)."""
    import torch
    from safetensors.torch import load_file

    info = read_reference_info(path)
    meta, _ = _read_header(info.path)
    vectors = load_file(str(info.path))[TENSOR]
    ids, sequences = json.loads(meta["ids"]), json.loads(meta["sequences"])
    if vectors.shape[0] != len(ids) or len(sequences) != len(ids):
        raise InputError(
            f"{info.path}: {vectors.shape[0]} vectors, {len(ids)} ids, {len(sequences)} sequences"
        )
    return ReferenceVectors(
        **{f.name: getattr(info, f.name) for f in dataclasses.fields(ReferenceInfo)},
        ids=ids,
        sequences=sequences,
        vectors=vectors.to(torch.float32),
        origin=meta.get("origin", ""),
    )


def _reference_files(directory: str | os.PathLike[str]) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"reference-vector directory {directory} not found")
    return sorted(directory.glob("*.safetensors"))


def load_references(directory: str | os.PathLike[str]) -> list[ReferenceVectors]:
    """Every ``*.safetensors`` reference file of a directory, sorted by name."""
    return [load_reference(p) for p in _reference_files(directory)]


def find_reference(spec: ModelSpec, references: Sequence[R]) -> R | None:
    """The reference for ``spec``, None when there is none; two candidates is an error."""
    found = [r for r in references if r.matches(spec)]
    if len(found) > 1:
        raise InputError(
            f"{spec.name}: several reference files match ({', '.join(str(r.path) for r in found)})"
        )
    return found[0] if found else None


def reference_from_virnucpro(
    pt_file: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    out: str | os.PathLike[str],
    **description: str,
) -> Path:
    """Turn an original VirNucPro ``.pt`` output and the FASTA it embedded into a reference file.

    Rows follow the FASTA's order; every FASTA id must have a vector and vice versa.
    ``description`` is :func:`write_reference`'s ``model``, ``source``, ``kind`` and ``origin``.
    """
    import torch

    from ..io.fasta import read_simple_fasta
    from ..io.legacy import read_legacy_vectors

    vectors = read_legacy_vectors(pt_file)
    records = read_simple_fasta(fasta)
    ids = [rid for rid, _ in records]
    if sorted(ids) != sorted(vectors):
        raise InputError(f"{fasta} and {pt_file} hold different ids: {ids} vs {list(vectors)}")
    return write_reference(
        out,
        ids=ids,
        sequences=[seq for _, seq in records],
        vectors=torch.stack([vectors[rid] for rid in ids]),
        **description,
    )


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """How far a matrix of vectors is from the reference, row by row."""

    dtype: str
    max_abs_diff: float
    min_cosine: float
    per_frame: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def compare_vectors(ours: torch.Tensor, reference: ReferenceVectors, dtype: str) -> Comparison:
    """Largest absolute difference and smallest cosine similarity, overall and per frame."""
    import torch

    ours = ours.to(torch.float32)
    if ours.shape != reference.vectors.shape:
        raise ModelMismatchError(
            f"{reference.model}: produced vectors of shape {tuple(ours.shape)}, the reference "
            f"{reference.path} has {tuple(reference.vectors.shape)}"
        )
    diff = (ours - reference.vectors).abs().amax(dim=1)
    cosine = torch.nn.functional.cosine_similarity(ours, reference.vectors, dim=1)
    per_frame = [
        {"id": rid, "max_abs_diff": float(d), "cosine": float(c)}
        for rid, d, c in zip(reference.ids, diff.tolist(), cosine.tolist(), strict=True)
    ]
    return Comparison(dtype, float(diff.max()), float(cosine.min()), per_frame)


@dataclass
class ModelVerdict:
    """The outcome for one registry model."""

    model: str
    status: str
    message: str
    reference: str | None = None
    source: str | None = None
    fp32: Comparison | None = None
    run_dtype: Comparison | None = None
    seconds: float | None = None
    weights_revision: str | None = None  # the hub commit download_models resolved
    thresholds: dict[str, float] = field(
        default_factory=lambda: {
            "fp32_max_abs_diff": FP32_MAX_ABS_DIFF,
            "run_dtype_min_cosine": RUN_DTYPE_MIN_COSINE,
        }
    )

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fp32"] = self.fp32.as_dict() if self.fp32 else None
        out["run_dtype"] = self.run_dtype.as_dict() if self.run_dtype else None
        return out


def judge(
    spec: ModelSpec,
    reference: ReferenceVectors,
    fp32: Comparison,
    run: Comparison,
    fp32_max_abs_diff: float = FP32_MAX_ABS_DIFF,
    run_min_cosine: float = RUN_DTYPE_MIN_COSINE,
) -> ModelVerdict:
    """PASS when both criteria hold; the message line carries every number either way."""
    fp32_ok = fp32.max_abs_diff <= fp32_max_abs_diff
    run_ok = run.min_cosine >= run_min_cosine
    status = PASS if fp32_ok and run_ok else FAIL
    message = (
        f"{spec.name}: {status}: float32 max |diff| {fp32.max_abs_diff:.3g} "
        f"({'<=' if fp32_ok else '>'} {fp32_max_abs_diff:g}), min cosine {fp32.min_cosine:.6f}; "
        f"run dtype {run.dtype}: min cosine {run.min_cosine:.6f} "
        f"({'>=' if run_ok else '<'} {run_min_cosine:g}), max |diff| {run.max_abs_diff:.3g}; "
        f"{len(reference.ids)} frames of {reference.path.name}"
    )
    return ModelVerdict(
        model=spec.name,
        status=status,
        message=message,
        reference=str(reference.path),
        source=reference.source,
        fp32=fp32,
        run_dtype=run,
        thresholds={"fp32_max_abs_diff": fp32_max_abs_diff, "run_dtype_min_cosine": run_min_cosine},
    )


def not_verified(spec: ModelSpec) -> ModelVerdict:
    return ModelVerdict(
        model=spec.name,
        status=NOT_VERIFIED,
        message=f"{spec.name}: no published reference vectors, not verified",
    )


@dataclass(frozen=True)
class VerificationPlan:
    """What ``verify_models`` needs, known when the workflow is parsed."""

    specs: list[ModelSpec]
    with_reference: list[str]  # the models whose weights the job needs
    reference_files: list[str]


def plan_verification(
    registry: dict[str, ModelSpec], names: Sequence[str], reference_dir: str | os.PathLike[str]
) -> VerificationPlan:
    """Check ``verify.models`` / ``verify.reference_dir``; errors name the config key."""
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise InputError(
            f"config key verify.models: unknown model(s) {unknown}; known: {sorted(registry)}"
        )
    try:
        references = [read_reference_info(p) for p in _reference_files(reference_dir)]
    except InputError as exc:
        raise InputError(f"config key verify.reference_dir: {exc}") from None
    specs = [registry[n] for n in names]
    return VerificationPlan(
        specs=specs,
        with_reference=[s.name for s in specs if find_reference(s, references) is not None],
        reference_files=[str(r.path) for r in references],
    )


# --------------------------------------------------------------------------- embedding


@contextlib.contextmanager
def strict_fp32() -> Iterator[None]:
    """Full-precision float32 matmuls for the duration (TF32 would cost ~1e-3 by itself)."""
    import torch

    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    precision = torch.get_float32_matmul_precision()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn
        torch.set_float32_matmul_precision(precision)


def embed_both_dtypes(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    sequences: Sequence[str],
    device: str,
    run_dtype: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Vectors in float32 and in the run dtype, from one load.

    ``run_dtype``: the dtype extraction jobs will use (the model's precision decision);
    None falls back to the registry's dtype for ``device``.

    The weights are loaded in float32 (a copy of the spec pinned to float32) and cast down
    afterwards: casting a bf16-loaded model up would compare bf16-rounded weights, not fp32.
    When the run dtype is float32 the first result is reused.
    """
    import torch

    from .embeddings import DTYPES, embed_sequences, load_encoder

    fp32_spec = dataclasses.replace(spec, dtype={"cpu": "float32", "cuda": "float32"})
    run_dtype = run_dtype or spec.dtype_for(torch.device(device).type)
    encoder = load_encoder(fp32_spec, model_dir, device)
    try:
        with strict_fp32():
            fp32, _ = embed_sequences(encoder, sequences)
        if run_dtype == "float32":
            return fp32, fp32.clone(), run_dtype
        encoder.model.to(DTYPES[run_dtype])
        encoder.dtype = DTYPES[run_dtype]
        reduced, _ = embed_sequences(encoder, sequences)
        return fp32, reduced, run_dtype
    finally:
        del encoder
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def verify_model(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    reference: ReferenceVectors,
    device: str,
    run_dtype: str | None = None,
) -> ModelVerdict:
    """Embed the reference's sequences with ``spec`` and judge the result."""
    if reference.kind != spec.kind:
        raise ModelMismatchError(
            f"{reference.path}: holds {reference.kind} vectors, {spec.name} is a {spec.kind} model"
        )
    start = time.perf_counter()
    fp32, reduced, run_dtype = embed_both_dtypes(
        spec, model_dir, reference.sequences, device, run_dtype
    )
    verdict = judge(
        spec,
        reference,
        compare_vectors(fp32, reference, "float32"),
        compare_vectors(reduced, reference, run_dtype),
    )
    verdict.seconds = round(time.perf_counter() - start, 3)
    return verdict


def verify_models(
    specs: Sequence[ModelSpec],
    model_dirs: dict[str, str | os.PathLike[str]],
    references: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    device: str,
    gpu_requested: int | None = None,
    run_dtypes: Mapping[str, str] | None = None,
    end_to_end: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Verify every model that has reference vectors; report the others as not verified.

    ``run_dtypes``: per model, the dtype its extraction jobs use (precision decision), so the
    reduced-precision check is of what the run does. ``end_to_end``: the end-to-end check
    (``classify.score_check.end_to_end_check`` bound to its plan), called with the device
    this job holds; absent: not run, and the report says so.

    ``references``: a directory of reference files, or the files themselves. All weights are
    checked for presence before anything is embedded, so a missing model fails at once with
    the one-line ``snakemake download_models`` hint.
    """
    import torch

    from ..runtime.environment import package_versions
    from ..runtime.gpu_slots import job_device

    if isinstance(references, (str, os.PathLike)):
        loaded = load_references(references)
    else:
        loaded = [load_reference(p) for p in references]
    pairs = [(spec, find_reference(spec, loaded)) for spec in specs]
    manifests = {
        spec.name: check_model_dir(spec, model_dirs[spec.name])
        for spec, reference in pairs
        if reference is not None
    }
    # On a GPU node, hold one device for the whole job, as extraction jobs do.
    with job_device(device, gpu_requested) as torch_device:
        verdicts = []
        for spec, reference in pairs:
            if reference is None:
                verdict = not_verified(spec)
            else:
                verdict = verify_model(
                    spec,
                    model_dirs[spec.name],
                    reference,
                    torch_device,
                    (run_dtypes or {}).get(spec.name),
                )
                verdict.weights_revision = manifests[spec.name].get("resolved_revision")
            log.info("%s", verdict.message)
            verdicts.append(verdict)
        end_to_end_report = (
            end_to_end(torch_device)
            if end_to_end
            else {"status": NOT_VERIFIED, "message": END_TO_END_OFF}
        )
        device_name = torch.cuda.get_device_name(torch_device) if torch_device != "cpu" else "cpu"
    return {
        "passed": not any(v.status == FAIL for v in verdicts)
        and end_to_end_report.get("passed", True),
        "end_to_end": end_to_end_report,
        "verified": [v.model for v in verdicts if v.status != NOT_VERIFIED],
        "device": torch_device,
        "device_name": device_name,
        "references": [str(r.path) for r in loaded],
        "versions": package_versions(),
        "models": [v.as_dict() for v in verdicts],
    }


END_TO_END_OFF = (
    "end to end: not run (set verify.checkpoint to the converted 500_model.pth to compare "
    "per-frame scores with the original's prediction_results.txt)"
)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One PASS / FAIL / NOT VERIFIED line per model and one for the end-to-end check."""
    lines = [m["message"] for m in report["models"]]
    end_to_end = report.get("end_to_end")
    return [*lines, end_to_end["message"]] if end_to_end else lines


def write_report(report: dict[str, Any], json_path: str | os.PathLike[str]) -> None:
    """The JSON report and a TSV beside it (one row per model, the headline numbers)."""
    write_text_atomic(json_path, json.dumps(report, indent=2, allow_nan=True) + "\n")
    rows = []
    for m in report["models"]:
        fp32, run = m["fp32"] or {}, m["run_dtype"] or {}
        rows.append(
            ModelCheck(
                m["model"],
                m["status"],
                fp32.get("max_abs_diff"),
                fp32.get("min_cosine"),
                run.get("dtype", ""),
                run.get("min_cosine"),
            )
        )
    MODEL_CHECKS.write(Path(json_path).with_suffix(".tsv"), rows)
