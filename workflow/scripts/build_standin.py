"""Rule build_standin_model: write a tiny random-weight stand-in of a registry model."""

from virnucpro_smk.models.standin import build_standin
from virnucpro_smk.runtime.logs import rule_logging

with rule_logging(snakemake) as log:
    spec = snakemake.params.spec
    build_standin(spec, snakemake.params.directory)
    log.info("built stand-in %s (%s, width %d)", spec.name, spec.architecture, spec.width)
