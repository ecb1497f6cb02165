"""Rule train_classifier: train and test one MLP for a (chunk length, DNA, protein) triple."""

from virnucpro_smk.classify.recipe import TrainConfig
from virnucpro_smk.classify.train import TrainingOutputs, train_from_manifest
from virnucpro_smk.runtime.gpu_slots import granted_gpus
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake):
    wc = snakemake.wildcards
    train_from_manifest(
        snakemake.input.manifest,
        snakemake.input.dna,
        snakemake.input.protein,
        wc.dna_model,
        wc.protein_model,
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.log_tsv,
            snakemake.output.test,
            list(snakemake.output.seed_weights),
        ),
        TrainConfig.from_config(snakemake.params.recipe, snakemake.params.seed),
        device=snakemake.params.device,
        gpu_requested=granted_gpus(snakemake.resources),
        expect=(int(wc.L), int(wc.width)),
        n_seeds=snakemake.params.seeds,
    )
