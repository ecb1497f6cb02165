"""The tables users write to train classifiers.

* the **training table** (config ``train.datasets``, :data:`TRAINING_TABLE`): one labelled
  dataset per row: ``dataset``, ``label``, ``group`` and its ``fasta`` and/or ``gbff`` file,
  optionally a ``genomes`` map (``preprocess.training_table`` checks the rows);
* the **embedding table** of ``virnucpro-smk train`` (:data:`EMBEDDING_TABLE`): one pair of
  embedding files per row (``dna``, ``protein``), their ``label`` and optionally ``group``.

Both are written by hand: ``#`` comment lines, other columns, cells with surrounding blanks
and rows without their trailing empty cells are fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table

#: The label words a table may use (any case).
LABELS = {"viral": 1, "virus": 1, "1": 1, "nonviral": 0, "non-viral": 0, "host": 0, "0": 0}


def label_value(text: str) -> int:
    """1 (viral) or 0 (not) for one of :data:`LABELS` (any case); ValueError otherwise."""
    try:
        return LABELS[text.strip().lower()]
    except KeyError:
        raise ValueError("is not viral or nonviral (or 1/0)") from None


@dataclass(frozen=True)
class TrainingDataset:
    dataset: str
    label: int
    group: str  # empty: the dataset's name
    fasta: str = ""
    gbff: str = ""
    genomes: str = ""  # a record -> genome map (FASTA datasets)


#: What both tables allow, as tables people write by hand do: extra columns, comment lines,
#: short rows, spaces around cells; the label as any of LABELS.
HAND_WRITTEN = {
    "parsers": {"label": label_value},
    "extra_columns": True,
    "comments": True,
    "ragged": True,
    "strip": True,
}

TRAINING_TABLE = Table("training datasets", TrainingDataset, **HAND_WRITTEN)


@dataclass(frozen=True)
class EmbeddingPair:
    dna: str  # a DNA model's embedding file
    protein: str  # the protein model's file of the same frames
    label: int
    group: str = ""  # empty: viral or nonviral


EMBEDDING_TABLE = Table("embedding pairs", EmbeddingPair, **HAND_WRITTEN)
