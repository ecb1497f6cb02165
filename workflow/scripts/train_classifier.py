"""Rule train_classifier: train and test one MLP for a (chunk length, DNA, protein) triple."""

from virnucpro_smk.classifier import TrainConfig
from virnucpro_smk.logs import rule_logging
from virnucpro_smk.training import train_classifier_rule

with rule_logging(snakemake):
    wc = snakemake.wildcards
    train_classifier_rule(
        snakemake.input.manifest,
        snakemake.input.dna,
        snakemake.input.protein,
        wc.dna_model,
        wc.protein_model,
        snakemake.output.weights,
        TrainConfig.from_dict({**snakemake.params.recipe, "seed": snakemake.params.seed}),
        chunk_length=int(wc.L),
        width=int(wc.width),
        device=snakemake.params.device,
        gpu_requested=int(getattr(snakemake.resources, "gpu", 0) or 0),
    )
