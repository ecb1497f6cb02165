"""What a user reads: Ctrl-C in a job, repeated warnings, a sample sheet naming a file twice."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from virnucpro_smk.io.fasta import read_nucleotide_fasta
from virnucpro_smk.runtime.config_checks import load_sample_sheet, shared_fasta_warnings

JOB = """
import sys, time, types
sys.path.insert(0, {scripts!r})
from virnucpro_smk.runtime.logs import rule_logging
smk = types.SimpleNamespace(log=[{log!r}], rule="extract_embeddings")
with rule_logging(smk):
    print("ready", flush=True)
    def deep(n):
        return deep(n - 1) if n else time.sleep(60)
    deep(20)
"""


def test_ctrl_c_stops_a_job_with_one_line(tmp_path):
    log = tmp_path / "job.log"
    code = JOB.format(scripts=str(ROOT / "workflow" / "scripts"), log=str(log))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "interrupted (Ctrl-C)" in errors[0]
    assert "interrupted (Ctrl-C)" in log.read_text()


FULL_DISK_JOB = """
import contextlib, sys, types
sys.path.insert(0, {scripts!r})
from virnucpro_smk.preprocess import sample
from virnucpro_smk.runtime.logs import rule_logging

@contextlib.contextmanager
def onto_a_full_disk(path, mode="w"):  # the kernel's own ENOSPC: /dev/full takes no byte
    with open("/dev/full", mode) as handle:
        yield handle

sample.atomic_open = onto_a_full_disk
smk = types.SimpleNamespace(log=[{log!r}], rule="preprocess_sample")
with rule_logging(smk):
    sample.preprocess_fasta({fasta!r}, 300, *[{out!r} + n for n in ("c", "n", "p", "s")])
"""


def test_a_full_disk_stops_a_job_with_one_line(tmp_path):
    """Before: two full OSError tracebacks (the log's and Python's)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    code = FULL_DISK_JOB.format(
        scripts=str(ROOT / "workflow" / "scripts"),
        log=str(tmp_path / "job.log"),
        fasta=str(ROOT / "resources/example/contigs.fasta"),
        out=str(tmp_path / "out."),
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    assert "preprocess_sample" in errors[0] and "free space" in errors[0]
    assert errors[0].split(" ERROR ", 1)[1] in (tmp_path / "job.log").read_text()


def test_awkward_ids_are_one_warning_and_a_count(tmp_path, caplog):
    fasta = tmp_path / "q.fa"
    fasta.write_text("".join(f'>id"{i}\nACGT\n' for i in range(5)) + ">plain\nACGT\n")
    with caplog.at_level(logging.WARNING, logger="virnucpro_smk.io.fasta"):
        records = list(read_nucleotide_fasta(fasta))
    assert len(records) == 6
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "'id\"0'" in messages[0]
    assert "5 of 6 ids" in messages[1]


def test_a_file_named_by_two_samples_is_warned_about(tmp_path):
    (tmp_path / "a.fa").write_text(">x\nACGT\n")
    (tmp_path / "b.fa").write_text(">y\nACGT\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tfasta\none\ta.fa\ntwo\t./a.fa\nthree\tb.fa\n")
    samples = load_sample_sheet(sheet, root=tmp_path)
    warnings = shared_fasta_warnings(samples, root=tmp_path)
    assert len(warnings) == 1
    assert "'one', 'two'" in warnings[0] and str(tmp_path / "a.fa") in warnings[0]
    assert shared_fasta_warnings({"one": "a.fa", "three": "b.fa"}, root=tmp_path) == []


STARTING = """
import sys, time
sys.path.insert(0, {scripts!r})
import virnucpro_smk
print("ready", flush=True)
time.sleep(60)  # standing for a job's imports of torch and transformers
"""


def test_ctrl_c_while_a_job_starts_is_one_line(tmp_path):
    # where Snakemake puts the copy of a rule's script that a job runs
    script = tmp_path / ".snakemake" / "scripts" / "tmpabc.extract_embeddings.py"
    script.parent.mkdir(parents=True)
    script.write_text(STARTING.format(scripts=str(ROOT / "workflow" / "scripts")))
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip() == "job interrupted (Ctrl-C) while starting"


def test_the_package_leaves_ctrl_c_alone_outside_rule_scripts():
    code = (
        f"import sys, signal; sys.path.insert(0, {str(ROOT / 'workflow' / 'scripts')!r})\n"
        "import virnucpro_smk\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
