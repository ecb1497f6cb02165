"""Rule download_model: fetch one hub model at its pinned revision (run on a login node)."""

from virnucpro_smk.models.store import download_model
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    spec = snakemake.params.spec
    log.info("downloading %s (%s @ %s)", spec.name, spec.source, spec.revision)
    download_model(spec, snakemake.params.directory)
