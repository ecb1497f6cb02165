"""Rule download_model: fetch one hub model at its pinned revision (run on a login node)."""

from virnucpro_smk.logs import rule_logging
from virnucpro_smk.model_store import download_model

with rule_logging(snakemake) as log:
    spec = snakemake.params.spec
    log.info("downloading %s (%s @ %s)", spec.name, spec.source, spec.revision)
    download_model(spec, snakemake.params.directory)
