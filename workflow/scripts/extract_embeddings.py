"""Rule extract_embeddings: embed one shard with one model (offline)."""

from virnucpro_smk.model_store import set_offline

set_offline()

from virnucpro_smk.embeddings import extract_shard  # noqa: E402
from virnucpro_smk.logs import rule_logging  # noqa: E402

with rule_logging(snakemake):
    extract_shard(
        snakemake.params.spec,
        snakemake.params.model_dir,
        snakemake.input.fasta,
        snakemake.output[0],
        chunk_length=int(snakemake.wildcards.L),
        device=snakemake.params.device,
        loader_workers=snakemake.params.loader_workers,
        progress_seconds=snakemake.params.progress_seconds,
        extra_meta={"sample": snakemake.wildcards.sample, "shard": snakemake.wildcards.shard},
    )
