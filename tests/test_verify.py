"""`snakemake verify_models`: reference data, the verdicts, and the one-line failures.

Real weights are not available here, so PASS/FAIL are exercised with the tiny checkpoints of
../shared/data/virnucpro_reference, whose "reference" vectors were computed by the reference
code (DNABERT-S's own bert_layers.py, FastPLMs' FastESM), not by this project's loaders.
"""

import dataclasses
import json
import os
import runpy
import subprocess
import sys
import types
from functools import partial
from pathlib import Path

import pytest
import torch
import yaml
from tokenizers import Tokenizer

from conftest import ROOT
from virnucpro_smk.errors import InputError, ModelMissingError
from virnucpro_smk.io.legacy import read_legacy_vectors
from virnucpro_smk.models.registry import parse_registry
from virnucpro_smk.models.verify import (
    FAIL,
    NOT_VERIFIED,
    PASS,
    find_reference,
    load_reference,
    load_references,
    plan_verification,
    summary_lines,
    verify_models,
    write_reference,
    write_report,
)

BUNDLED = ROOT / "tests" / "data" / "reference_vectors"
FRAME_IDS = [
    "synthetic_seq_1_chunk_1R1",
    "synthetic_seq_1_chunk_1R2",
    "synthetic_seq_2_chunk_1R1",
    "synthetic_seq_2_chunk_1R2",
]


def _real_registry():
    return parse_registry(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"])


def _fasta(path):
    out, name = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        else:
            out[name] += line.strip()
    return out


# --------------------------------------------------------------------- (4) the bundled data


def test_bundled_reference_matches_the_original_outputs_exactly(reference):
    dna = load_reference(BUNDLED / "dnaberts_768d.safetensors")
    esm = load_reference(BUNDLED / "esm2_3b_2560d.safetensors")
    assert dna.vectors.shape == (4, 768) and dna.vectors.dtype == torch.float32
    assert esm.vectors.shape == (4, 2560) and esm.vectors.dtype == torch.float32
    assert dna.ids == esm.ids == FRAME_IDS
    assert (dna.model, dna.source, dna.kind) == ("dnaberts_768d", "zhihan1996/DNABERT-S", "dna")
    assert (esm.source, esm.kind) == ("facebook/esm2_t36_3B_UR50D", "protein")
    assert "a8d3e4b1079cf71cabb246d6e2a43ef84d78c25d" in dna.origin

    # sequences: exactly what the original embedded
    nucleotide = _fasta(reference / "test_with_orfs_identified_nucleotide.fa")
    protein = _fasta(reference / "test_with_orfs_identified_protein.faa")
    assert dna.sequences == [nucleotide[i] for i in FRAME_IDS]
    assert esm.sequences == [protein[i] for i in FRAME_IDS]

    # vectors: bit for bit, read straight from the pickles (not through our reader)
    raw_dna = torch.load(reference / "output_1_DNABERT_S.pt", weights_only=True)
    for row, item in zip(dna.vectors, raw_dna["data"], strict=True):
        assert torch.equal(row.double(), torch.tensor(item["mean_representation"]).double())
    raw_esm = torch.load(reference / "output_1_ESM.pt", weights_only=True)
    assert raw_esm["proteins"] != FRAME_IDS  # stored in ESM batch order: we reorder
    for rid, row in zip(esm.ids, esm.vectors, strict=True):
        assert torch.equal(row, raw_esm["data"][raw_esm["proteins"].index(rid)])
    merged = torch.load(reference / "output_1_merged.pt", weights_only=True)
    assert merged["ids"] == FRAME_IDS
    assert torch.equal(merged["data"], torch.cat([dna.vectors, esm.vectors], dim=1))

    # and our reader of the original format agrees
    vectors = read_legacy_vectors(reference / "output_1_ESM.pt")
    assert torch.equal(torch.stack([vectors[i] for i in FRAME_IDS]), esm.vectors)


def test_the_command_rebuilds_the_bundled_reference_from_the_original_run(reference, tmp_path):
    from virnucpro_smk.cli import main

    bundled = load_reference(BUNDLED / "esm2_3b_2560d.safetensors")
    out = tmp_path / "esm2_3b_2560d.safetensors"
    args = ["--model", "esm2_3b_2560d", "--source", bundled.source, "--kind", "protein"]
    assert main(["reference-from-original", str(reference / "output_1_ESM.pt"),
                 str(reference / "test_with_orfs_identified_protein.faa"), "--out", str(out),
                 *args, "--origin", bundled.origin]) == 0  # fmt: skip
    rebuilt = load_reference(out)
    assert (rebuilt.ids, rebuilt.sequences, rebuilt.origin) == (
        bundled.ids,
        bundled.sequences,
        bundled.origin,
    )
    assert torch.equal(rebuilt.vectors, bundled.vectors)
    # a FASTA whose ids the vectors do not hold is one line, exit status 1
    other = tmp_path / "other.faa"
    other.write_text(">x\nMKV\n")
    bad = tmp_path / "x.safetensors"
    assert main(["reference-from-original", str(reference / "output_1_ESM.pt"), str(other),
                 "--out", str(bad), *args, "--origin", "o"]) == 1  # fmt: skip
    assert not bad.exists()


def test_registry_models_find_their_reference():
    registry, references = _real_registry(), load_references(BUNDLED)
    assert find_reference(registry["dnaberts_768d"], references).model == "dnaberts_768d"
    assert find_reference(registry["esm2_3b_2560d"], references).width == 2560
    assert find_reference(registry["fastesm650_1280d"], references) is None
    # matched by hub source too (a renamed entry), but never across widths
    renamed = dataclasses.replace(registry["esm2_3b_2560d"], name="esm2_3b_pinned_2560d")
    assert find_reference(renamed, references).model == "esm2_3b_2560d"
    assert find_reference(dataclasses.replace(renamed, width=1280), references) is None


def test_malformed_reference_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_text("not safetensors")
    with pytest.raises(InputError, match="not a readable reference-vector file") as info:
        load_reference(bad)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------- (1) missing weights


def test_missing_weights_fail_with_one_line_naming_download_models(tmp_path):
    registry = _real_registry()
    specs = [registry["dnaberts_768d"], registry["esm2_3b_2560d"]]
    dirs = {s.name: tmp_path / "models" / s.name for s in specs}
    with pytest.raises(ModelMissingError) as info:
        verify_models(specs, dirs, BUNDLED, "cpu")
    message = str(info.value)
    assert "\n" not in message
    assert "dnaberts_768d" in message and "snakemake download_models" in message


def test_rule_script_exits_1_with_the_one_line_error(tmp_path, monkeypatch):
    """The rule script itself: no traceback, one ERROR line in the log, exit status 1."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # the script sets them
        monkeypatch.setenv(name, "1")
    registry = _real_registry()
    specs = [registry["esm2_3b_2560d"]]
    log = tmp_path / "logs" / "verify_models.log"
    smk = types.SimpleNamespace(
        rule="verify_models",
        log=_NamedList(
            [str(log), str(tmp_path / "logs" / "verify_models.json")], ["main", "report"]
        ),
        input=types.SimpleNamespace(
            references=[str(p) for p in BUNDLED.glob("*.safetensors")], precision=[]
        ),
        output=types.SimpleNamespace(json=str(tmp_path / "verify" / "models.json")),
        params=types.SimpleNamespace(
            specs=specs,
            model_dirs={"esm2_3b_2560d": str(tmp_path / "models" / "esm2_3b_2560d")},
            device="cpu",
            precision_models=[],
            score_check=None,
        ),
        resources=types.SimpleNamespace(gpu=0),
    )
    with pytest.raises(SystemExit) as info:
        runpy.run_path(
            str(ROOT / "workflow" / "scripts" / "verify_models.py"),
            init_globals={"snakemake": smk},
        )
    assert info.value.code == 1
    errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "snakemake download_models" in errors[0]
    assert "Traceback" not in log.read_text()
    assert not (tmp_path / "verify" / "models.json").exists()


class _NamedList(list):
    """Snakemake's log object: a list whose entries are also attributes."""

    def __init__(self, items, names):
        super().__init__(items)
        for name, item in zip(names, items, strict=True):
            setattr(self, name, item)


# --------------------------------------------------------------------- (3) FastESM


def test_fastesm_is_reported_as_not_verified_not_passed(tmp_path):
    spec = _real_registry()["fastesm650_1280d"]
    # its weights are not needed (and absent): there is nothing to compare with
    report = verify_models([spec], {spec.name: tmp_path / "absent"}, BUNDLED, "cpu")
    (model,) = report["models"]
    assert model["status"] == NOT_VERIFIED
    assert model["message"] == "fastesm650_1280d: no published reference vectors, not verified"
    assert report["verified"] == [] and report["passed"]


# --------------------------------------------------------------------- (2) tiny models
#
# PASS and FAIL are exercised on the tiny checkpoints of ../shared/data/virnucpro_reference,
# whose vectors were computed by the reference code itself (DNABERT-S's bert_layers.py and
# FastPLMs' FastESM, see their fixture_info.json), never by this project's loaders: a PASS
# is the product agreeing with the code that made the published models' outputs.

KMER = 6  # 4 ** 6 = 4096 = the tiny DNABERT-S vocabulary: token id i <-> the i-th 6-mer


def _kmer(i: int) -> str:
    return "".join("ACGT"[(i >> (2 * k)) & 3] for k in reversed(range(KMER)))


def _tiny_dnabert_dir(reference_dir: Path, directory: Path) -> tuple[list[str], torch.Tensor]:
    """The tiny DNABERT-S with a 6-mer tokenizer that maps DNA onto the fixture's token ids.

    Returns the DNA sequences of the fixture's six inputs and the reference code's mean over
    all tokens ([CLS] and [SEP] included, as the original pools DNABERT-S).
    """
    import shutil

    from safetensors.torch import load_file
    from tokenizers import Regex, models, pre_tokenizers, processors

    source = reference_dir / "dnabert_s_tiny"
    directory.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(source / name, directory / name)
    special = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "[MASK]": 4}
    vocab = {**special, **{_kmer(i): i for i in range(len(special), 4**KMER)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(f".{{{KMER}}}"), behavior="isolated")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    fx = load_file(source / "fixture.safetensors")
    sequences = [
        "".join(_kmer(t) for t in fx["input_ids"][i, 1 : n - 1].tolist())
        for i, n in enumerate(fx["lengths"].tolist())
    ]
    return sequences, fx["single_mean"]


def _tiny_fastesm(reference_dir: Path) -> tuple[list[str], torch.Tensor]:
    """The fixture's protein sequences and FastPLMs' mean over residues (no BOS/EOS)."""
    from safetensors.torch import load_file

    folder = reference_dir / "fastesm_tiny"
    sequences = list(_fasta(folder / "sequences.fasta").values())
    return sequences, load_file(folder / "fixture.safetensors")["single_mean"]


TINY = {"tiny_dnabert_48d": "dna", "tiny_fastesm_64d": "protein"}


@pytest.fixture(scope="module")
def standin_setup(reference, standins, tmp_path_factory):
    """Two local tiny models with reference-code vectors, and a stand-in with no reference."""
    root = tmp_path_factory.mktemp("tiny_references")
    dna_dir = root / "models" / "tiny_dnabert_48d"
    dna_sequences, dna_vectors = _tiny_dnabert_dir(reference, dna_dir)
    protein_sequences, protein_vectors = _tiny_fastesm(reference)
    entries = {
        "tiny_dnabert_48d": {
            "kind": "dna",
            "architecture": "dnabert2",
            "provider": "local",
            "source": str(dna_dir),
            "width": 48,
        },
        "tiny_fastesm_64d": {
            "kind": "protein",
            "architecture": "esm2",
            "provider": "local",
            "source": str(reference / "fastesm_tiny"),
            "width": 64,
            "token_dropout": True,
        },
    }
    registry = parse_registry(entries)
    directory = root / "references"
    for name, sequences, vectors in (
        ("tiny_dnabert_48d", dna_sequences, dna_vectors),
        ("tiny_fastesm_64d", protein_sequences, protein_vectors),
    ):
        write_reference(
            directory / f"{name}.safetensors",
            model=name,
            source=registry[name].source,
            kind=TINY[name],
            ids=[f"{name}_seq{i}" for i in range(len(sequences))],
            sequences=sequences,
            vectors=vectors,
            origin="the reference code's fixture (fixture_info.json)",
        )
    specs = [registry["tiny_dnabert_48d"], registry["tiny_fastesm_64d"]]
    specs.append(standins["standin_fastesm_32d"][0])
    dirs = {s.name: s.source for s in specs[:2]}
    dirs["standin_fastesm_32d"] = standins["standin_fastesm_32d"][1]
    return specs, dirs, directory


def test_tiny_models_pass_against_the_reference_codes_vectors(standin_setup, tmp_path):
    specs, dirs, references = standin_setup
    report = verify_models(specs, dirs, references, "cpu")
    status = {m["model"]: m for m in report["models"]}
    assert status["tiny_dnabert_48d"]["status"] == PASS, status["tiny_dnabert_48d"]["message"]
    assert status["tiny_fastesm_64d"]["status"] == PASS, status["tiny_fastesm_64d"]["message"]
    assert status["standin_fastesm_32d"]["status"] == NOT_VERIFIED
    assert report["passed"] and report["verified"] == ["tiny_dnabert_48d", "tiny_fastesm_64d"]
    for name in report["verified"]:
        fp32 = status[name]["fp32"]
        assert fp32["max_abs_diff"] < 1e-5 and fp32["min_cosine"] > 0.99999
        assert [f["id"] for f in fp32["per_frame"]] == [f"{name}_seq{i}" for i in range(6)]
        assert status[name]["run_dtype"]["dtype"] == "float32"  # CPU run dtype
        assert status[name]["message"].startswith(f"{name}: PASS: float32 max |diff| ")

    write_report(report, tmp_path / "models.json")
    assert json.loads((tmp_path / "models.json").read_text())["passed"] is True
    tsv = (tmp_path / "models.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:2] == ["model", "status"]
    assert [row.split("\t")[1] for row in tsv[1:]] == [PASS, PASS, NOT_VERIFIED]


def test_a_reduced_run_dtype_is_embedded_separately(standin_setup):
    """bf16 run dtype: a second embedding, judged by cosine; fp32 still from fp32 weights."""
    specs, dirs, references = standin_setup
    spec = dataclasses.replace(specs[1], dtype={"cpu": "bfloat16", "cuda": "bfloat16"})
    (model,) = verify_models([spec], dirs, references, "cpu")["models"]
    assert model["status"] == PASS, model["message"]
    assert model["fp32"]["max_abs_diff"] < 1e-5  # weights were not rounded through bf16
    run = model["run_dtype"]
    assert run["dtype"] == "bfloat16" and run["max_abs_diff"] > 1e-4
    assert 0.999 <= run["min_cosine"] < 1.0
    assert "run dtype bfloat16: min cosine 0.99" in model["message"]


def test_perturbed_reference_fails_with_the_numbers(standin_setup, tmp_path):
    specs, dirs, references = standin_setup
    for path in references.glob("*.safetensors"):
        ref = load_reference(path)
        vectors = ref.vectors.clone()
        if ref.kind == "dna":
            vectors[2, 5] += 0.01  # a small shift: fp32 fails, cosine still passes
        else:
            vectors[1] = -vectors[1]  # a flipped frame: both criteria fail
        write_reference(
            tmp_path / path.name,
            **{k: getattr(ref, k) for k in ("model", "source", "kind", "ids", "sequences")},
            vectors=vectors,
            origin="perturbed",
        )
    report = verify_models(specs[:2], dirs, tmp_path, "cpu")
    assert not report["passed"]
    dna, esm = report["models"]
    assert dna["status"] == esm["status"] == FAIL
    assert 0.0099 < dna["fp32"]["max_abs_diff"] < 0.0101
    assert dna["run_dtype"]["min_cosine"] > 0.999
    worst = max(dna["fp32"]["per_frame"], key=lambda f: f["max_abs_diff"])
    assert worst["id"] == "tiny_dnabert_48d_seq2"
    assert "FAIL: float32 max |diff| 0.01 (> 0.001)" in dna["message"]
    assert "run dtype float32: min cosine 0.99" in dna["message"]  # this part passes
    assert esm["run_dtype"]["min_cosine"] < -0.99
    assert "(< 0.999)" in esm["message"]


def test_reference_kind_must_match_the_model(standin_setup, tmp_path):
    specs, dirs, references = standin_setup
    dna = load_reference(references / "tiny_dnabert_48d.safetensors")
    write_reference(
        tmp_path / "wrong.safetensors",
        model=specs[1].name,
        source=specs[1].source,
        kind="dna",
        ids=dna.ids,
        sequences=dna.sequences,
        vectors=torch.zeros(len(dna.ids), specs[1].width),
        origin="wrong kind",
    )
    with pytest.raises(Exception, match="holds dna vectors, tiny_fastesm_64d is a protein model"):
        verify_models([specs[1]], dirs, tmp_path, "cpu")


def test_plan_names_the_config_key_and_needs_only_referenced_weights(tmp_path):
    registry = _real_registry()
    plan = plan_verification(registry, list(registry), BUNDLED)
    assert plan.with_reference == ["dnaberts_768d", "esm2_3b_2560d"]  # no FastESM download
    assert [Path(p).name for p in plan.reference_files] == [
        "dnaberts_768d.safetensors",
        "esm2_3b_2560d.safetensors",
    ]
    with pytest.raises(InputError, match=r"^config key verify\.models: unknown model\(s\)"):
        plan_verification(registry, ["esm_1d"], BUNDLED)
    with pytest.raises(InputError, match=r"^config key verify\.reference_dir: .* not found"):
        plan_verification(registry, ["esm2_3b_2560d"], tmp_path / "absent")


def test_planning_does_not_import_torch():
    """verify.smk plans at every Snakemake start-up: it must stay cheap (no torch import)."""
    code = (
        "import sys, yaml\n"
        "from virnucpro_smk.models.registry import parse_registry\n"
        "from virnucpro_smk.models.verify import plan_verification\n"
        f"models = yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r}))['models']\n"
        f"plan = plan_verification(parse_registry(models), list(models), {str(BUNDLED)!r})\n"
        "assert plan.with_reference == ['dnaberts_768d', 'esm2_3b_2560d'], plan\n"
        "assert 'torch' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow" / "scripts")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_the_run_dtype_comes_from_the_precision_decision(standin_setup):
    """The registry says float32 on CPUs; the run decided bf16: the check embeds in bf16."""
    specs, dirs, references = standin_setup
    (model,) = verify_models(
        [specs[1]], dirs, references, "cpu", run_dtypes={specs[1].name: "bfloat16"}
    )["models"]
    assert model["run_dtype"]["dtype"] == "bfloat16" and model["run_dtype"]["max_abs_diff"] > 1e-4


def test_end_to_end_check_runs_in_verify_models(standin_setup, tmp_path):
    """With a classifier of the stand-ins' widths, verify_models scores the original's input
    and compares with its prediction_results.txt: random weights must FAIL it, and the
    report says so in its end-to-end line; without a checkpoint the line says it did not run."""
    from virnucpro_smk.classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint
    from virnucpro_smk.classify.score_check import end_to_end_check, score_check_plan

    specs, dirs, references = standin_setup
    weights = tmp_path / "clf" / "model.safetensors"
    weights.parent.mkdir()
    identity = CheckpointIdentity(specs[0].name, 48, specs[1].name, 64, 500)
    save_checkpoint(MLPClassifier(112, 8), weights, identity)
    plan = score_check_plan(str(weights), ROOT / "tests" / "data" / "end_to_end")
    check = partial(end_to_end_check, plan, specs[:2], dirs, None)
    report = verify_models(specs[:2], dirs, references, "cpu", end_to_end=check)
    end = report["end_to_end"]
    assert end["status"] == FAIL and end["frames"] == 4 and not report["passed"]
    assert set(end["scores"]) == set(FRAME_IDS)
    pair = f"{specs[0].name}+{specs[1].name}, 500 bp"
    assert summary_lines(report)[-1].startswith(f"end to end ({pair}): FAIL")
    off = verify_models(specs[:2], dirs, references, "cpu")
    assert off["passed"] and "not run" in summary_lines(off)[-1]
