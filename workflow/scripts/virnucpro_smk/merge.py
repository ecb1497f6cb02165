"""Merging DNA and protein embeddings into classifier features, with strict checks.

The original printed a warning and silently dropped ids found in only one file; here any
disagreement stops the job, naming the files, the expected and found widths and up to ten
offending ids. The merged width is computed from the inputs' metadata, never hard-coded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .artifacts import EmbeddingFile, read_embeddings, write_embeddings
from .errors import ModelMismatchError
from .registry import pair_tag

MAX_LISTED = 10


def _listed(ids: list[str]) -> str:
    more = f" (and {len(ids) - MAX_LISTED} more)" if len(ids) > MAX_LISTED else ""
    return ", ".join(ids[:MAX_LISTED]) + more


def check_finite(emb: EmbeddingFile, path: str | os.PathLike[str]) -> None:
    bad_rows = (~torch.isfinite(emb.matrix)).any(dim=1).nonzero().flatten().tolist()
    if bad_rows:
        offending = _listed([emb.ids[i] for i in bad_rows])
        raise ModelMismatchError(f"{path}: {len(bad_rows)} row(s) contain NaN or Inf: {offending}")


def merge_pair(
    dna: EmbeddingFile, protein: EmbeddingFile, dna_path: str, protein_path: str
) -> tuple[list[str], torch.Tensor, dict[str, Any]]:
    """Concatenate per-frame DNA and protein vectors (rows must match one to one)."""
    if dna.meta.get("kind") != "dna" or protein.meta.get("kind") != "protein":
        raise ModelMismatchError(
            f"{dna_path} must hold DNA and {protein_path} protein embeddings, found "
            f"{dna.meta.get('kind')} and {protein.meta.get('kind')}"
        )
    if dna.meta.get("chunk_length") != protein.meta.get("chunk_length"):
        raise ModelMismatchError(
            f"{dna_path} (chunk {dna.meta.get('chunk_length')}) and {protein_path} "
            f"(chunk {protein.meta.get('chunk_length')}) come from different chunk lengths"
        )
    if dna.ids != protein.ids:
        only_dna = [i for i in dna.ids if i not in set(protein.ids)]
        only_prot = [i for i in protein.ids if i not in set(dna.ids)]
        misplaced = [a for a, b in zip(dna.ids, protein.ids, strict=False) if a != b]
        details = []
        if only_dna:
            details.append(f"only in {dna_path}: {_listed(only_dna)}")
        if only_prot:
            details.append(f"only in {protein_path}: {_listed(only_prot)}")
        if not details:
            details.append(f"same ids in a different order, first differing: {_listed(misplaced)}")
        raise ModelMismatchError(
            f"{dna_path} ({len(dna.ids)} rows) and {protein_path} ({len(protein.ids)} rows) "
            "do not hold the same ids in the same order; " + "; ".join(details)
        )
    for emb, path in ((dna, dna_path), (protein, protein_path)):
        if emb.matrix.shape[1] != emb.width:
            raise ModelMismatchError(
                f"{path}: expected width {emb.width} ({emb.model}), found {emb.matrix.shape[1]}"
            )
        check_finite(emb, path)
    width = dna.width + protein.width
    matrix = torch.cat([dna.matrix, protein.matrix], dim=1)
    meta = {
        "model": pair_tag(dna.model, protein.model),
        "kind": "merged",
        "width": width,
        "dna_model": dna.model,
        "dna_width": dna.width,
        "dna_revision": dna.meta.get("revision"),
        "protein_model": protein.model,
        "protein_width": protein.width,
        "protein_revision": protein.meta.get("revision"),
        "chunk_length": dna.meta.get("chunk_length"),
        "source": f"{dna.meta.get('source')} + {protein.meta.get('source')}",
        "revision": f"{dna.meta.get('revision')} + {protein.meta.get('revision')}",
        "pooling": f"{dna.meta.get('pooling')} + {protein.meta.get('pooling')}",
        "dtype": f"{dna.meta.get('dtype')} + {protein.meta.get('dtype')}",
    }
    return dna.ids, matrix, meta


def merge_files(
    dna_path: str | os.PathLike[str],
    protein_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    chunk_length: int | None = None,
) -> int:
    """Merge two embedding files into ``output`` (under a ``<dna>+<protein>`` directory)."""
    dna = read_embeddings(dna_path, expect_chunk_length=chunk_length)
    protein = read_embeddings(protein_path, expect_chunk_length=chunk_length)
    ids, matrix, meta = merge_pair(dna, protein, str(dna_path), str(protein_path))
    if Path(output).parent.name != meta["model"]:
        raise ModelMismatchError(
            f"{output}: merged {meta['model']} features must live in {meta['model']}/"
        )
    write_embeddings(output, ids, matrix, meta)
    return len(ids)


def read_merged(
    path: str | os.PathLike[str], dna_model: str, protein_model: str, width: int | None = None
) -> EmbeddingFile:
    """Read merged features, refusing any that came from another model pair or width."""
    emb = read_embeddings(path, expect_model=pair_tag(dna_model, protein_model), expect_width=width)
    if emb.meta.get("kind") != "merged":
        raise ModelMismatchError(f"{path}: not a merged feature file")
    return emb


def read_features(
    dna_path: str | os.PathLike[str],
    protein_path: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
    chunk_length: int | None = None,
) -> tuple[list[str], torch.Tensor, dict[str, Any]]:
    """DNA and protein vectors of the same frames, joined where they are consumed."""
    dna = read_embeddings(dna_path, expect_model=dna_model, expect_chunk_length=chunk_length)
    protein = read_embeddings(
        protein_path, expect_model=protein_model, expect_chunk_length=chunk_length
    )
    return merge_pair(dna, protein, str(dna_path), str(protein_path))
