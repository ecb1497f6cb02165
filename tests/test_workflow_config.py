"""Start-up checks of the Snakemake workflow: schema, sample sheet, registry, dry-run, lint."""

from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_snakemake


def _dry(*extra, check=False):
    return run_snakemake("-n", "--quiet", "rules", *extra, check=check)


def _job_counts(stdout: str) -> dict[str, int]:
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_dry_run_default_config_lists_jobs(tmp_path):
    proc = run_snakemake("-n", "--config", f"outdir={tmp_path}")
    assert "preprocess_sample" in proc.stdout
    assert "validate_environment" in proc.stdout
    assert "<TBD>" not in proc.stdout


def test_lint_is_clean():
    proc = run_snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("shard_size=abc", "shard_size"),
        ("device=tpu", "device"),
        ("chunk_length=-3", "chunk_length"),
        ("dna_model=dnabert_bogus_1d", "dna_model"),
        ("protein_models=[no_such_model_9d]", "protein_models"),
        ("samples=/nonexistent/samples.tsv", "samples"),
        ("predict={min_viral_fraction: 2}", "min_viral_fraction"),
        ("train={datasets: /nonexistent/training.tsv}", "train.datasets"),
    ],
)
def test_bad_config_stops_before_any_job(override, message):
    proc = _dry("--config", override)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert message in text
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


def test_shard_count_is_known_at_dag_build(tmp_path):
    """A tiny shard size yields many shard jobs, all listed by a dry-run (no checkpoint)."""
    proc = run_snakemake("-n", "preprocess", "--config", "shard_size=10", f"outdir={tmp_path}")
    # example: 110 chunks at 300 bp -> ceil(6 * 110 / 10) = 66 shards
    assert _job_counts(proc.stdout)["shard_frames"] == 66


def test_overrides_on_the_command_line(tmp_path):
    proc = run_snakemake(
        "-n",
        "preprocess",
        "--config",
        f"outdir={tmp_path / 'o'}",
        "chunk_length=500",
    )
    assert f"{tmp_path / 'o'}/example/chunk500/chunked.fa" in proc.stdout
    assert Path(ROOT / "Snakefile").exists()
