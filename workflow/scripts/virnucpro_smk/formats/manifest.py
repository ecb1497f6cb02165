"""``training_manifest.tsv``: every frame that trains, validates or tests the classifiers, with
its dataset, host group, source record, genome, label, split and frame-index row, in the
order of the training frame files (one contiguous block per split). Drawn once from frame ids
(``preprocess.genome_splits``), never from a model, so every protein model trains on the
same frames; 10M rows for RefSeq, read as a stream."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class ManifestRow:
    id: str  # frame id
    dataset: str
    group: str  # host group (the balanced draw's unit)
    record: str  # the input record the frame was cut from
    genome: str  # the record's genome key (the record itself when it has none)
    label: int  # 1 viral, 0 not
    split: str  # train, val or test
    shard: int  # the frame index row that holds the frame


MANIFEST = Table("training manifest", ManifestRow)
