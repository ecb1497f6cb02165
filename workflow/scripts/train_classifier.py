"""Rule train_classifier: train and test one MLP for a (chunk length, DNA, protein) triple."""

from pathlib import Path

from virnucpro_smk.classifier import TrainConfig
from virnucpro_smk.errors import ModelMismatchError
from virnucpro_smk.logs import rule_logging
from virnucpro_smk.training import train_from_manifest

with rule_logging(snakemake):
    wc = snakemake.wildcards
    cfg = TrainConfig.from_dict({**snakemake.params.recipe, "seed": snakemake.params.seed})
    out_dir = Path(snakemake.output.weights).parent
    train_from_manifest(
        snakemake.input.manifest,
        snakemake.params.shards,
        wc.dna_model,
        wc.protein_model,
        out_dir,
        cfg,
    )
    import json

    meta = json.loads(Path(snakemake.output.metadata).read_text())
    if meta["input_width"] != int(wc.width) or meta["chunk_length"] != int(wc.L):
        raise ModelMismatchError(
            f"{out_dir}: path says {wc.L} bp / {wc.width}d, features are "
            f"{meta['chunk_length']} bp / {meta['input_width']}d"
        )
