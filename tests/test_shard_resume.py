"""Resume inside a shard: SIGKILL an extraction job at several points, rerun it, and the
finished file is byte for byte the file of an uninterrupted run (same sha256)."""

import hashlib
import json
import random
import subprocess
import sys

import pytest
from test_embeddings import _precision, _random_protein, _shard_files

from conftest import ROOT
from virnucpro_smk.io.embedding_files import EmbeddingReader

#: The job in a fresh process, with a tiny batch budget (BUDGET: many batches) and a resume
#: point after every batch. KILL names where the process kills itself with SIGKILL: ``embed:N``
#: when the N-th forward pass is computed (a planned DNA batch runs as several), ``sync:N``
#: while making rows durable for the N-th resume point (the record not yet written),
#: ``publish`` with the file finished but not yet renamed.
JOB = """
import dataclasses, json, os, signal, sys
import virnucpro_smk.models.embeddings as e
import virnucpro_smk.models.shard_resume as r
from tests_standin import spec
spec = dataclasses.replace(spec, tokens_per_batch=int(os.environ["BUDGET"]))
kill = os.environ.get("KILL", "")
counts = {"embed": 0, "sync": 0}
def counted(name, original):
    def call(*args, **kwargs):
        counts[name] += 1
        if kill == f"{name}:{counts[name]}":
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return call
e.Encoder.embed = counted("embed", e.Encoder.embed)
r.EmbeddingWriter.sync = counted("sync", r.EmbeddingWriter.sync)
if kill == "publish":
    r.publish = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
from virnucpro_smk.models.extraction_job import ExtractionJob, ExtractionSettings
job = ExtractionJob(spec, *json.loads(sys.argv[1]), 300, sys.argv[2], "cpu")
settings = ExtractionSettings(loader_workers=0, progress_seconds=30, checkpoint_seconds=0,
                              compile=False)
stats = e.extract_shard(job, settings)
print(json.dumps({"embed_calls": counts["embed"], "resumed_at": stats["resumed_at_batch"],
                  "batches": stats["batches"], "passes": stats["forward_passes"]}))
"""


def _run(args, precision, tmp_path, budget, kill=""):
    env = {
        "PYTHONPATH": f"{ROOT / 'workflow' / 'scripts'}:{tmp_path}",
        "PATH": "/usr/bin:/bin",
        "KILL": kill,
        "BUDGET": str(budget),
    }
    cmd = [sys.executable, "-c", JOB, json.dumps(args), str(precision)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("seed", "name"), [(1, "standin_esm2_64d"), (2, "standin_dnabert_48d")])
def test_sigkill_inside_a_shard_then_rerun_gives_the_uninterrupted_file(
    standins, tmp_path, seed, name
):
    spec, directory = standins[name]
    helper = tmp_path / "tests_standin.py"
    helper.write_text(
        "import yaml\nfrom virnucpro_smk.models.registry import parse_registry\n"
        f"spec = parse_registry(yaml.safe_load(open({str(ROOT / 'config/standin.yaml')!r}))"
        f"['models'])[{spec.name!r}]\n"
    )
    rng = random.Random(seed)
    proteins = [_random_protein(rng, rng.randint(5, 60)) for _ in range(60)]
    _, nuc, prot, index = _shard_files(tmp_path, proteins)
    frames = nuc if spec.kind == "dna" else prot
    precision = _precision(spec, directory, tmp_path)
    reference = tmp_path / "ref" / spec.name / "shard_0000.safetensors"
    budget = 160 if spec.kind == "protein" else 40  # DNA: fewer tokens per record
    reference_args = [str(directory), str(frames), str(index), 0, str(reference)]
    done = _run(reference_args, precision, tmp_path, budget)
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads(done.stdout.splitlines()[-1])
    batches = plan["batches"]
    assert batches >= 12  # enough batches to kill inside the shard
    # protein: one forward pass per planned batch; DNA: planned at 4 budgets, several passes
    assert (plan["passes"] == batches) == (spec.kind == "protein"), plan

    out = tmp_path / "run" / spec.name / "shard_0000.safetensors"
    args = [str(directory), str(frames), str(index), 0, str(out)]
    first, second = sorted(rng.sample(range(3, batches), 2))
    kills = [f"embed:{first}", f"sync:{second - first}", "publish"]
    resumed_at = []
    for kill in kills:
        killed = _run(args, precision, tmp_path, budget, kill)
        assert killed.returncode == -9, (kill, killed.stderr[-2000:])
        assert not out.exists()
        record = out.with_name(f".{out.name}.partial.json")
        if record.exists():
            resumed_at.append(json.loads(record.read_text())["batches_done"])
    rerun = _run(args, precision, tmp_path, budget)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    last = json.loads(rerun.stdout.splitlines()[-1])
    # each kill left a resume point further on, and the last run only did what was left
    # (a batch's rows are written once the next batch is computed: the kill at batch
    # ``first`` leaves ``first - 2`` batches recorded, when a batch is one forward pass)
    assert resumed_at == sorted(set(resumed_at)) and resumed_at[-1] == batches
    if spec.kind == "protein":
        assert resumed_at == [first - 2, second - 3, batches]
    assert last["resumed_at"] == batches and last["embed_calls"] == 0
    assert _sha256(out) == _sha256(reference)  # metadata included: nothing of the run in it
    with EmbeddingReader(out) as reader:
        assert "stats" not in reader.meta and reader.meta["device"] == "cpu"
    assert not list(out.parent.glob(".*"))  # no partial nor record left behind
