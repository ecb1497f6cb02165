"""Rule training_manifest: balanced, seeded train/validation/test manifest of frame ids."""

from pathlib import Path

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.training_set import LabelledFrames, build_manifest

with rule_logging(snakemake) as log:
    datasets = [
        LabelledFrames(name, d["group"], d["label"], Path(frames), Path(index))
        for (name, d), frames, index in zip(
            snakemake.params.datasets.items(),
            snakemake.input.frames,
            snakemake.input.shard_index,
            strict=True,
        )
    ]
    summary = build_manifest(
        datasets,
        snakemake.output.manifest,
        seed=snakemake.params.seed,
        val_fraction=snakemake.params.val_fraction,
        test_fraction=snakemake.params.test_fraction,
        balance=snakemake.params.balance,
    )
    log.info("manifest: %s", summary)
