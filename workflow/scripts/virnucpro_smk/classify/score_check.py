"""End-to-end check against the original: per-frame scores on ``test_with_orfs.fa`` at 500 bp.

The embedding checks (``models.verify``) show that each encoder reproduces the original's vectors;
this one shows that the whole chain does: chunking, six-frame selection, both encoders in the
dtype the run uses, the join, the converted classifier and the softmax. The original wrote
``prediction_results.txt`` (``python prediction.py test_with_orfs.fa 500 500_model.pth``, from
broadinstitute/virnucpro-broad; tab-separated ``Sequence_ID, Prediction, score1, score2``,
score1 non-viral, score2 viral). A user with the real weights and the published
``500_model.pth`` (converted with ``virnucpro-smk convert-legacy``) scores the same input here
and compares frame by frame.

Tolerance on the viral score (:data:`SCORE_TOLERANCE`): in float32 our encoders match the
reference implementations to ~2e-6 on hidden states (the fixture tests), which moves a
two-class softmax by far less than 1e-3; in bf16 (8 mantissa bits, ~4e-3 relative rounding
per element) the pooled vectors keep cosine >= 0.999 with the float32 ones and a 3328-d
linear layer turns that into logit shifts of a few hundredths, i.e. viral-score shifts up to
about 0.01 near 0.5 and less towards 0 or 1. So 1e-3 in float32 and 0.02 in reduced precision:
loose enough for rounding, tight enough that a wrong frame, pooling, layer or feature order
(which moves scores by tenths) fails. The call (virus/others) must also agree wherever the
original's score is further than the tolerance from 0.5.

What a PASS shows: on these frames our pipeline computes the original's function of its input.
What it does not show: accuracy on real data (two synthetic sequences, four frames), nor
anything about FastESM2_650 (no original run exists for it).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InputError
from ..formats.predictions import PREDICTIONS
from ..models.registry import ModelSpec
from ..models.verify import FAIL, PASS

log = logging.getLogger(__name__)

SCORE_TOLERANCE = {"float32": 1e-3, "bfloat16": 0.02, "float16": 0.02}


def read_original_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Viral score (``score2``) per frame id of an original ``prediction_results.txt``
    (``formats.predictions.PREDICTIONS``: predict's ``predictions.tsv`` is the same table)."""
    scores: dict[str, float] = {}
    for n, row in PREDICTIONS.read_numbered(path):
        where = f"{path}, line {n}"
        fid, call, nonviral, viral = row.Sequence_ID, row.Prediction, row.score1, row.score2
        if call not in ("virus", "others") or not math.isclose(nonviral + viral, 1.0, abs_tol=1e-5):
            raise InputError(f"{where}: call virus/others and scores summing to 1")
        if (call == "virus") != (viral >= nonviral):
            raise InputError(f"{where}: the call {call!r} disagrees with the scores")
        if fid in scores:
            raise InputError(f"{where}: frame {fid!r} twice")
        scores[fid] = viral
    return scores


@dataclass
class ScoreCheck:
    """Outcome of comparing our per-frame viral scores with the original's."""

    passed: bool
    dtype: str
    tolerance: float
    frames: int
    max_abs_diff: float
    worst_frame: str
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_scores(
    ours: Mapping[str, float], original: Mapping[str, float], dtype: str = "float32"
) -> ScoreCheck:
    """Same frames, every viral score within the dtype's tolerance, same calls off the fence."""
    if dtype not in SCORE_TOLERANCE:
        raise InputError(f"score check: no tolerance for dtype {dtype!r}")
    tolerance = SCORE_TOLERANCE[dtype]
    problems = []
    missing, extra = sorted(set(original) - set(ours)), sorted(set(ours) - set(original))
    if missing or extra:
        problems.append(f"frames differ (only the original: {missing}; only ours: {extra})")
    worst, worst_id = 0.0, ""
    for fid in sorted(set(original) & set(ours)):
        diff = abs(float(ours[fid]) - float(original[fid]))
        if diff > worst:
            worst, worst_id = diff, fid
        if diff > tolerance:
            problems.append(f"{fid}: viral score {ours[fid]:.6f}, original {original[fid]:.6f}")
        off_fence = abs(original[fid] - 0.5) > tolerance
        if off_fence and (ours[fid] >= 0.5) != (original[fid] >= 0.5):
            problems.append(f"{fid}: called otherwise than the original")
    return ScoreCheck(
        not problems, dtype, tolerance, len(original), round(worst, 9), worst_id, problems
    )


def score_check_plan(
    checkpoint: str, reference_dir: str | os.PathLike[str]
) -> dict[str, Any] | None:
    """What the end-to-end check needs, read when the workflow starts (no torch): the
    classifier's models and chunk length from its ``metadata.json``, and the original's input
    and scores in ``reference_dir``. None when no checkpoint is configured."""
    import json
    from pathlib import Path

    if not checkpoint:
        return None
    meta_path = Path(checkpoint).with_name("metadata.json")
    if not meta_path.is_file():
        raise InputError(f"verify.checkpoint: {checkpoint!r} has no metadata.json beside it")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    plan = {
        "checkpoint": str(checkpoint),
        "dna": meta.get("dna_model"),
        "protein": meta.get("protein_model"),
        "chunk_length": int(meta.get("chunk_length", 0)),
        "fasta": str(Path(reference_dir) / "test_with_orfs.fa"),
        "original": str(Path(reference_dir) / "prediction_results.txt"),
    }
    if plan["chunk_length"] != 500:
        raise InputError(
            f"verify.checkpoint: {checkpoint} is a {plan['chunk_length']} bp classifier; the "
            "original's scores are for 500 bp (convert 500_model.pth)"
        )
    for key in ("fasta", "original"):
        if not Path(plan[key]).is_file():
            raise InputError(f"verify.end_to_end_dir: {plan[key]} not found")
    return plan


def pipeline_scores(
    fasta: str | os.PathLike[str],
    chunk_length: int,
    dna: tuple[Any, str | os.PathLike[str]],
    protein: tuple[Any, str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str],
    device: str = "cpu",
    dtypes: Mapping[str, str] | None = None,
) -> tuple[dict[str, float], str]:
    """Viral score per kept frame of ``fasta``, computed the way ``predict`` does.

    ``dna`` and ``protein`` are (registry spec, model directory); ``dtypes`` maps a model name
    to the dtype the run uses (from its precision decision; default: the registry's). Returns
    the scores and the lowest precision used (which sets the tolerance).
    """
    import torch

    from ..io.fasta import read_nucleotide_fasta
    from ..models.embeddings import DTYPES, embed_sequences, load_encoder
    from ..preprocess.frames import translate_record
    from .mlp import load_checkpoint, predict_scores

    frames = [
        frame
        for record in read_nucleotide_fasta(fasta)
        for _, _, kept in translate_record(record.id, record.seq, chunk_length)
        for frame in kept
    ]
    if not frames:
        raise InputError(f"{fasta}: no stop-free frame at {chunk_length} bp")
    used = []
    parts = []
    for (spec, model_dir), texts in (
        (dna, [f.nucleotide for f in frames]),
        (protein, [f.protein for f in frames]),
    ):
        kind = "cpu" if torch.device(device).type == "cpu" else "cuda"
        dtype = (dtypes or {}).get(spec.name) or spec.dtype_for(kind)
        used.append(dtype)
        encoder = load_encoder(spec, model_dir, device, DTYPES[dtype])
        vectors, _ = embed_sequences(encoder, texts)
        parts.append(vectors.float().cpu())
        del encoder
    model, _ = load_checkpoint(checkpoint)
    scores = predict_scores(model, torch.cat(parts, dim=1))[:, 1]
    lowest = next((d for d in ("float16", "bfloat16") if d in used), "float32")
    return {f.id: float(s) for f, s in zip(frames, scores, strict=True)}, lowest


def end_to_end_check(
    check: Mapping[str, Any],
    specs: Sequence[ModelSpec],
    model_dirs: Mapping[str, str | os.PathLike[str]],
    run_dtypes: Mapping[str, str] | None,
    device: str,
) -> dict[str, Any]:
    """Per-frame scores of the original's input against its ``prediction_results.txt``
    (``check``: :func:`score_check_plan`), on the device ``verify_models`` holds."""
    by_name = {s.name: s for s in specs}
    missing = [check[k] for k in ("dna", "protein") if check[k] not in by_name]
    if missing:
        raise InputError(f"verify.checkpoint: its models {missing} are not among verify.models")
    ours, dtype = pipeline_scores(
        check["fasta"],
        int(check["chunk_length"]),
        (by_name[check["dna"]], model_dirs[check["dna"]]),
        (by_name[check["protein"]], model_dirs[check["protein"]]),
        check["checkpoint"],
        device,
        run_dtypes,
    )
    result = check_scores(ours, read_original_scores(check["original"]), dtype)
    status = PASS if result.passed else FAIL
    message = (
        f"end to end ({check['dna']}+{check['protein']}, {check['chunk_length']} bp): {status}: "
        f"max |viral score diff| {result.max_abs_diff:.3g} over {result.frames} frames "
        f"(tolerance {result.tolerance:g} in {dtype})"
        + (f"; {'; '.join(result.problems)}" if result.problems else "")
    )
    log.info("%s", message)
    return {"status": status, "message": message, **result.as_dict(), "scores": ours}
