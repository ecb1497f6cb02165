"""Start-up checks of the Snakemake workflow: schema, sample sheet, registry, dry-run, lint."""

import pytest
import yaml

from conftest import ROOT, run_snakemake


def _dry(*extra, check=False):
    return run_snakemake("-n", "--quiet", "rules", *extra, check=check)


def _job_counts(stdout: str) -> dict[str, int]:
    """The dry-run's job stats table (rule -> count); job details (`jobid: 3`) are skipped."""
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and not parts[0].endswith(":"):
            counts[parts[0]] = int(parts[1])
    return counts


def test_dry_run_default_config_lists_jobs(tmp_path):
    """The default target on the shipped config: one sample, one DNA and one protein model."""
    proc = run_snakemake("-n", "--config", f"outdir={tmp_path}", f"models_dir={tmp_path}")
    # each model is downloaded and precision-checked once; the example's 110 chunks are far
    # below chunks_per_gpu_job, so one extraction job per model (and one local job per model
    # writing its job table)
    assert _job_counts(proc.stdout) == {
        "download_model": 2,
        "preprocess_sample": 1,
        "validate_environment": 1,
        "check_precision": 2,
        "plan_extraction_jobs": 2,
        "extract_embeddings": 2,
        "all": 1,
        "total": 11,
    }


def test_lint_is_clean():
    proc = run_snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("chunks_per_gpu_job: abc", "chunks_per_gpu_job"),
        ("device: tpu", "device"),
        ("chunk_length: -3", "chunk_length"),
        ("dna_model: dnabert_bogus_1d", "dna_model"),
        ("protein_models: [no_such_model_9d]", "protein_models"),
        ("samples: /nonexistent/samples.tsv", "samples"),
        ("predict: {min_viral_fraction: 2}", "min_viral_fraction"),
    ],
)
def test_bad_config_stops_before_any_job(override, message, monkeypatch):
    """The start-up checks common.smk runs, in-process (a --config value is parsed as YAML).

    That these errors reach the user through Snakemake as one line, before any job, is
    proved once by the dry-run below and by test_bad_inputs' dry-runs.
    """
    from test_bad_inputs import _merge, _start_up

    from virnucpro_smk.errors import InputError
    from virnucpro_smk.runtime.config_checks import load_sample_sheet

    monkeypatch.chdir(ROOT)
    config = _merge(
        yaml.safe_load((ROOT / "config/config.yaml").read_text()), yaml.safe_load(override)
    )
    with pytest.raises(InputError) as info:
        _start_up(config)
        load_sample_sheet(config["samples"], root=ROOT)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_config_dry_run_is_one_line_before_any_job():
    """The one check only common.smk makes (training sheet), through a real dry-run."""
    proc = _dry("--config", "train={datasets: /nonexistent/training.tsv}")
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "train.datasets" in text and "not found" in text
    assert "Traceback" not in text
    assert "Job stats" not in text


def test_region_sensitivity_must_exceed_the_false_positive_rate(tmp_path):
    extra = tmp_path / "regions.yaml"  # a file: --config would pass the numbers as text
    extra.write_text("predict:\n  region_sensitivity: 0.02\n")
    proc = _dry("--configfile", "config/config.yaml", str(extra))
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "sensitivity must exceed the false-positive rate" in text
    assert "Traceback" not in text


def test_missing_sample_fasta_is_named(tmp_path):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tfasta\ns1\t/nonexistent/reads.fa\n")
    proc = _dry("--config", f"samples={sheet}")
    assert proc.returncode != 0
    assert "s1" in proc.stderr + proc.stdout and "not found" in proc.stderr + proc.stdout


def test_bad_sample_name_is_refused(tmp_path):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbad/name\t{ROOT / 'resources/example/contigs.fasta'}\n")
    proc = _dry("--config", f"samples={sheet}")
    assert proc.returncode != 0
    assert "bad/name" in proc.stdout + proc.stderr


def test_registry_name_must_carry_width(tmp_path):
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["models"]["fastesm650_1280d"]["width"] = 1024
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = _dry("--configfile", str(path))
    assert proc.returncode != 0
    assert "models.fastesm650_1280d" in proc.stdout + proc.stderr


def test_gpu_job_count_is_known_at_dag_build(tmp_path):
    """Less work per GPU job, more jobs, all listed by a dry-run (no checkpoint)."""
    proc = run_snakemake(
        "-n", "embeddings", "--config", "chunks_per_gpu_job=10", f"outdir={tmp_path}"
    )
    # example: 110 chunks at 300 bp -> ceil(110 / 10) = 11 jobs for each of the two models
    assert _job_counts(proc.stdout)["extract_embeddings"] == 22


def test_overrides_on_the_command_line(tmp_path):
    proc = run_snakemake(
        "-n",
        "preprocess",
        "--config",
        f"outdir={tmp_path / 'o'}",
        "chunk_length=500",
    )
    assert f"{tmp_path / 'o'}/samples/example/chunk500/sequences.tsv" in proc.stdout


# ---- profiles/default: a bare `snakemake <target>` works ------------------------------------


def test_bare_snakemake_runs_without_cores(tmp_path):
    """profiles/default supplies --cores and the workstation GPU cap (a real, tiny run)."""
    proc = run_snakemake("preprocess", "--config", f"outdir={tmp_path}", f"models_dir={tmp_path}")
    assert "workflow specific profile profiles/default" in proc.stderr
    text = proc.stdout + proc.stderr
    assert "Provided cores:" in text and "(use --cores" not in text
    assert 'gpu=Resource("gpu", 1)' in text
    assert (tmp_path / "samples" / "example" / "chunk300" / "sequences.tsv").is_file()


def test_without_the_workflow_profile_cores_are_required(tmp_path):
    """The control for the test above: it is the profile that makes --cores optional."""
    proc = run_snakemake(
        "preprocess", "--workflow-profile", "none", "--config", f"outdir={tmp_path}", check=False
    )
    assert proc.returncode != 0
    assert "cores have to be specified" in proc.stdout + proc.stderr


def test_slurm_profile_combines_with_the_workflow_profile(tmp_path):
    """`--profile profiles/slurm` still works; the default profile's GPU cap is per machine."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    proc = run_snakemake(
        "-n",
        "--profile",
        "profiles/slurm",
        "predict",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={tmp_path}",
        f"models_dir={tmp_path}",
    )
    assert "profiles/slurm and workflow specific profile profiles/default" in proc.stderr
    assert "slurm_partition=gpu" in proc.stdout
    # Without the local scope, gpu=1 would cap the whole cluster at one GPU job at a time.
    default = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())
    assert "gpu=local" in default["set-resource-scopes"]


# ---- sample names that no longer collide -----------------------------------------------------


def test_train_prefix_and_dataset_names_are_ordinary_samples(tmp_path):
    fasta = ROOT / "resources/example/contigs.fasta"
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\ntrain.x\t{fasta}\nviral\t{fasta}\nsynthA\t{fasta}\n")
    proc = run_snakemake(
        "-n",
        "preprocess",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"samples={sheet}",
        f"outdir={tmp_path / 'o'}",
    )
    for name in ("train.x", "viral", "synthA"):
        assert f"{tmp_path / 'o'}/samples/{name}/chunk300/sequences.tsv" in proc.stdout


def _schema_nodes(node, path="config"):
    """(path, schema) of every property schema, $defs included."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from _schema_nodes(sub, f"{path}.{key}")
    for key, sub in node.get("$defs", {}).items():
        yield from _schema_nodes(sub, f"$defs.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _schema_nodes(node[key], f"{path}[{key}]")
    for branch in node.get("oneOf", []):
        yield from _schema_nodes(branch, path)


def test_schema_documents_every_key_and_refuses_unknown_ones():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    for path, node in _schema_nodes(schema):
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub, f"{path}.{key} has no description"
        if node.get("type") == "object":
            # closed objects, or maps whose values have a schema (models, checkpoints)
            assert "additionalProperties" in node, f"{path} accepts unknown keys"


def test_a_group_holds_one_label(tmp_path):
    """A group with viral and non-viral datasets would make per-group metrics meaningless."""
    sheet = tmp_path / "training.tsv"
    example = ROOT / "resources/example"
    sheet.write_text(
        "dataset\tlabel\tgroup\tfasta\n"
        f"a\tviral\tsame\t{example / 'train_groupA.fasta'}\n"
        f"b\tnonviral\tsame\t{example / 'train_groupB.fasta'}\n"
    )
    extra = tmp_path / "train.yaml"
    extra.write_text(f"train:\n  datasets: {sheet}\n")
    proc = run_snakemake(
        "train", "-n", "--configfile", "config/standin.yaml", str(extra), check=False
    )
    assert proc.returncode != 0
    assert "group(s) ['same'] hold both viral and non-viral datasets" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_nested_command_line_strings_are_read_as_the_types_the_schema_wants():
    """Snakemake hands nested --config values over as strings ('predict={min_viral_fraction:
    0.6}' gives '0.6'): numbers, integers and booleans are read as YAML before validation,
    strings where the schema wants a string stay strings, and junk stays junk (refused)."""
    from test_bad_inputs import _merge

    from virnucpro_smk.errors import InputError
    from virnucpro_smk.runtime.config_checks import check_config

    schema = ROOT / "workflow/schemas/config.schema.yaml"
    text = (ROOT / "config/config.yaml").read_text()
    config = _merge(
        yaml.safe_load(text),
        {
            "outdir": "123",
            "chunk_length": ["300", "500"],
            "predict": {"min_viral_fraction": "0.6", "region_switch_probability": "1e-3"},
            "extraction": {"compile": "true"},
        },
    )
    check_config(config, schema)
    assert config["outdir"] == "123"
    assert config["chunk_length"] == [300, 500]
    assert config["predict"]["min_viral_fraction"] == 0.6
    assert config["predict"]["region_switch_probability"] == 0.001
    assert config["extraction"]["compile"] is True  # an enum of a string and booleans
    config = _merge(yaml.safe_load(text), {"extraction": {"compile": "auto"}})
    check_config(config, schema)
    assert config["extraction"]["compile"] == "auto"
    for bad, key in (({"predict": {"min_viral_fraction": "lots"}}, "min_viral_fraction"),
                     ({"extraction": {"compile": "0.5"}}, "compile")):  # fmt: skip
        with pytest.raises(InputError, match=key):
            check_config(_merge(yaml.safe_load(text), bad), schema)
