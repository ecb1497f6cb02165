"""Rule build_training_set: draw the manifest, write the selected frames and their frame index.

Each model's extraction jobs over these frames are sized afterwards, in the workflow
(``runtime/job_plan.py``, asked by ``rules/helpers/extraction_plan.smk``), from the index's
frame count.
"""

from pathlib import Path

from virnucpro_smk.preprocess.genome_splits import (
    LabelledFrames,
    SplitSettings,
    build_training_set,
)
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    datasets = [
        LabelledFrames(
            name,
            d["group"],
            d["label"],
            Path(nucleotide),
            Path(protein),
            Path(snakemake.params.genome_maps[name])
            if snakemake.params.genome_maps[name]
            else None,
        )
        for (name, d), nucleotide, protein in zip(
            snakemake.params.datasets.items(),
            snakemake.input.nucleotide,
            snakemake.input.protein,
            strict=True,
        )
    ]
    summary = build_training_set(
        datasets,
        manifest=snakemake.output.manifest,
        summary=snakemake.output.summary,
        nucleotide=snakemake.output.nucleotide,
        protein=snakemake.output.protein,
        frame_index=snakemake.output.frame_index,
        clusters=snakemake.input.clusters,
        # train.seed, val_fraction, test_fraction and balance
        settings=SplitSettings.from_config(snakemake.params),
    )
    log.info("training set: %s", summary)
