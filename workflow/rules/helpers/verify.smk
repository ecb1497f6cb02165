# The verify.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.

from virnucpro_smk.classify.score_check import score_check_plan  # noqa: E402
from virnucpro_smk.models.verify import plan_verification  # noqa: E402

VERIFY = config["verify"]  # defaults from the schema; models: [] = every non-stand-in
with one_line_errors():
    # Header reads only (no torch): which models have reference vectors.
    VERIFY_PLAN = plan_verification(
        REGISTRY,
        VERIFY["models"] or [n for n, s in REGISTRY.items() if not s.is_standin],
        VERIFY["reference_dir"],
    )
    VERIFY_SCORE_CHECK = score_check_plan(VERIFY["checkpoint"], VERIFY["end_to_end_dir"])


def verify_precision_models(wildcards=None):
    """Models whose run dtype verify_models needs: those with reference vectors, and the
    end-to-end check's two models."""
    names = list(VERIFY_PLAN.with_reference)
    if VERIFY_SCORE_CHECK:
        names += [VERIFY_SCORE_CHECK[k] for k in ("dna", "protein")]
    return list(dict.fromkeys(n for n in names if n in REGISTRY))


def verify_precision_files(wildcards):
    return [PRECISION.format(model=n) for n in verify_precision_models()]


def verify_end_to_end_files(wildcards):
    """The classifier, input and scores of the end-to-end check (none when it is off)."""
    if not VERIFY_SCORE_CHECK:
        return []
    return [VERIFY_SCORE_CHECK[k] for k in ("checkpoint", "fasta", "original")]
