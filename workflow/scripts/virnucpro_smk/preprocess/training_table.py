"""The training table (``train.datasets``): which labelled files train the classifier.

One row per dataset, tab-separated, ``#`` lines are comments. Columns: ``dataset`` (a name of
``[A-Za-z0-9_-]``), ``label`` (viral or nonviral), ``group`` (host group for the balanced
draw; empty = the dataset's name) and ``fasta`` and/or ``gbff``; optional ``genomes``, a
``record``/``genome`` TSV saying which FASTA records form one genome (:mod:`.genomes`;
GenBank datasets take it from their records' assembly links). Read when the workflow starts,
so every problem is one line naming the table and the dataset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..formats.training_table import TRAINING_TABLE

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_WHERE = "config key train.datasets"


def load_training_table(path: str, refseq_dir: str) -> dict[str, dict[str, Any]]:
    """Datasets by name: ``label`` (1/0), ``group``, ``fasta``, ``gbff`` and ``genomes``.

    With a GenBank file the training-mode builder keeps only frames found in annotated
    proteins; with a FASTA alone every stop-free frame is used (prediction-mode selection).
    Files under ``refseq_dir`` are fetched by `download_refseq` and may not exist yet.
    """
    if not path:
        return {}
    if not Path(path).is_file():
        raise InputError(f"{_WHERE}: {path!r} not found")
    out: dict[str, dict[str, Any]] = {}
    for row in TRAINING_TABLE.read(path, source=f"{_WHERE}: {path}"):
        name, fasta, gbff, genomes = row.dataset, row.fasta, row.gbff, row.genomes
        where = f"{_WHERE}: {path}, dataset {name!r}"
        if not _NAME.fullmatch(name) or name in out:
            raise InputError(f"{where}: names must be unique and use [A-Za-z0-9_-]")
        if not (fasta or gbff):
            raise InputError(f"{where}: give a fasta or a gbff file")
        if genomes and gbff:
            raise InputError(
                f"{where}: a genomes map is for FASTA datasets; GenBank records name their "
                "assembly (DBLINK Assembly:)"
            )
        for file in (fasta, gbff, genomes):
            if file and not file.startswith(f"{refseq_dir}/") and not Path(file).is_file():
                raise InputError(f"{where}: {file!r} not found")
        out[name] = {
            "label": row.label,
            "group": row.group or name,
            "fasta": fasta,
            "gbff": gbff,
            "genomes": genomes,
        }
    mixed = sorted(
        {d["group"] for d in out.values() if d["label"]}
        & {d["group"] for d in out.values() if not d["label"]}
    )
    if mixed:
        raise InputError(
            f"{_WHERE}: {path}: group(s) {mixed} hold both viral and non-viral "
            "datasets; a group is one label (per-group recall/specificity depend on it)"
        )
    return out


def genome_map_of(dataset: dict[str, Any], builder_output: str | os.PathLike[str]) -> str:
    """Where a dataset's genome map lives: the builder's side output for GenBank, the
    table's ``genomes`` file for FASTA ("" when the dataset has none)."""
    return str(builder_output) if dataset["gbff"] else dataset["genomes"]
