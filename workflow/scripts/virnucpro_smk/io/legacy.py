"""Read-only importers for the original VirNucPro's ``.pt`` outputs and pickled MLP models.

Feature files (``*_DNABERT_S.pt``, ``*_ESM.pt``, ``*_merged.pt``) are plain containers of
lists, dicts and tensors, so they load with ``torch.load(weights_only=True)``. The published
classifiers (``300_model.pth``, ``500_model.pth``) are whole pickled modules: loading them
runs pickle code, so :func:`load_legacy_classifier` demands an explicit opt-in.
"""

from __future__ import annotations

import logging
import os
import pickle
from types import SimpleNamespace

import torch

from ..errors import InputError, VirNucProError

log = logging.getLogger(__name__)


def _load(path: str | os.PathLike[str]) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _dnabert_rows(data: dict, path: str | os.PathLike[str]) -> tuple[list[str], torch.Tensor]:
    ids = [d["label"] for d in data["data"]]
    if "nucleotide" in data and ids != list(data["nucleotide"]):
        raise InputError(f"{path}: labels disagree with the 'nucleotide' id list")
    matrix = torch.tensor([d["mean_representation"] for d in data["data"]], dtype=torch.float32)
    return ids, matrix


def _esm_rows(data: dict) -> tuple[list[str], torch.Tensor]:
    return list(data["proteins"]), torch.stack([t.to(torch.float32) for t in data["data"]])


def read_legacy_vectors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Frame id -> vector from an original ``*_DNABERT_S.pt`` or ``*_ESM.pt``, by content.

    A dictionary, because ESM files keep ESM batch order rather than the input's.
    """
    data = _load(path)
    if "nucleotide" in data:
        ids, matrix = _dnabert_rows(data, path)
    elif "proteins" in data:
        ids, matrix = _esm_rows(data)
    else:
        raise InputError(f"{path}: neither a DNABERT-S ('nucleotide') nor an ESM ('proteins') file")
    return dict(zip(ids, matrix, strict=True))


class _LegacyMLP(torch.nn.Module):
    """Stand-in class for unpickling the original ``__main__.MLPClassifier``."""


class _LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name == "MLPClassifier":
            return _LegacyMLP
        return super().find_class(module, name)


def load_legacy_classifier(
    path: str | os.PathLike[str], allow_pickle: bool = False
) -> dict[str, torch.Tensor]:
    """State dict of an original whole-module checkpoint. Executes pickle code: opt-in only."""
    if not allow_pickle:
        raise VirNucProError(
            f"{path} is a pickled module; loading it executes code from the file. "
            "Pass --allow-pickle (only for files you trust, e.g. the published 300_model.pth)."
        )
    log.warning("unpickling %s with weights_only=False: this runs code from the file", path)
    pickle_module = SimpleNamespace(
        Unpickler=_LegacyUnpickler, load=pickle.load, __name__="legacy_pickle"
    )
    module = torch.load(path, map_location="cpu", weights_only=False, pickle_module=pickle_module)
    if isinstance(module, dict):
        return module
    return module.state_dict()
