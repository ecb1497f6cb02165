# `snakemake verify_models`: embed the original VirNucPro's four reference frames with the
# downloaded weights (float32 and the run dtype) and compare with its own vectors.
from functools import cache

from virnucpro_smk.verify import find_reference, load_references  # noqa: E402

VERIFY = {
    # Default: every registry model that is not a stand-in.
    "models": [n for n, s in REGISTRY.items() if not s.is_standin],
    "reference_dir": "tests/data/reference_vectors",
    **config.get("verify", {}),
}


@cache
def verify_plan():
    """Models to verify, those with reference vectors, and the reference files."""
    unknown = [n for n in VERIFY["models"] if n not in REGISTRY]
    if unknown:
        raise WorkflowError(
            f"config key verify.models: unknown model(s) {unknown}; known: {sorted(REGISTRY)}"
        )
    try:
        references = load_references(VERIFY["reference_dir"])
        specs = [REGISTRY[n] for n in VERIFY["models"]]
        with_reference = [s.name for s in specs if find_reference(s, references) is not None]
    except InputError as exc:
        raise WorkflowError(f"config key verify.reference_dir: {exc}") from None
    return {
        "specs": specs,
        "with_reference": with_reference,
        "files": [str(r.path) for r in references],
    }


rule verify_models:
    input:
        models=lambda wc: [model_ready(n) for n in verify_plan()["with_reference"]],
        references=lambda wc: verify_plan()["files"],
        env=ENV_REPORT,
    output:
        json=f"{OUT}/verify/models.json",
        tsv=f"{OUT}/verify/models.tsv",
    params:
        specs=lambda wc: verify_plan()["specs"],
        model_dirs=lambda wc: {
            s.name: str(model_dir(s, MODELS_DIR)) for s in verify_plan()["specs"]
        },
        reference_dir=VERIFY["reference_dir"],
        device=config["device"],
    log:
        main=f"{OUT}/logs/verify_models.log",
        report=f"{OUT}/logs/verify_models.json",
    benchmark:
        f"{OUT}/benchmarks/verify_models.tsv"
    resources:
        gpu=gpu_count,
        mem_mb=32000,
        runtime=60,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/verify_models.py"
