"""Extraction with stand-in models: batching, pooling, order, files and the identity guard."""

import json
import random

import pytest
import torch

from conftest import run_extraction
from virnucpro_smk import __version__
from virnucpro_smk.errors import InputError, ModelMismatchError, ModelMissingError
from virnucpro_smk.io.embedding_files import read_metadata, write_embeddings
from virnucpro_smk.models.embeddings import (
    embed_sequences,
    load_encoder,
    token_budget_batches,
)
from virnucpro_smk.models.registry import parse_model, parse_registry, select_models
from whole_embeddings import read_embeddings

AA = "ACDEFGHIKLMNPQRSTVWY"


def _protein_spec(name, provider, source, width):
    entry = {"kind": "protein", "architecture": "esm2", "provider": provider, "source": source}
    return parse_model(name, {**entry, "width": width})


def _random_dna(rng, n):
    return "".join(rng.choices("ACGT", k=n))


def _random_protein(rng, n):
    return "".join(rng.choices(AA, k=n))


def _shard_files(tmp_path, proteins, n_shards=1, name="sample", dna=None):
    """Identified frame files (one line per record) and their shard index, as preprocess
    writes them; the nucleotide file holds one 300-bp-like record per protein (or ``dna``)."""
    from virnucpro_smk.formats.frame_index import FRAME_INDEX
    from virnucpro_smk.preprocess.shards import index_shards

    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"seq{i // 6}_chunk_{i % 6 + 1}F1" for i in range(len(proteins))]
    nuc, prot = folder / "identified_nucleotide.fa", folder / "identified_protein.faa"
    rng = random.Random(len(proteins))
    if dna is None:
        dna = [_random_dna(rng, 3 * len(p) + 1) for p in proteins]
    nuc.write_text("".join(f">{i}\n{d}\n" for i, d in zip(ids, dna, strict=True)))
    prot.write_text("".join(f">{i}\n{p}\n" for i, p in zip(ids, proteins, strict=True)))
    index = folder / "shards.tsv"
    FRAME_INDEX.write(index, index_shards(nuc, prot, len(proteins), n_shards))
    return ids, nuc, prot, index


def _precision(spec, directory, tmp_path):
    from virnucpro_smk.models.precision import decide_precision, write_precision

    path = tmp_path / "precision" / f"{spec.name}.json"
    path.parent.mkdir(exist_ok=True)
    write_precision(decide_precision(spec, directory, "cpu"), path)
    return path


def _extract(spec, directory, tmp_path, proteins, shard=0, n_shards=1, dna=None, **kwargs):
    """Run extract_shard on shard ``shard`` of freshly written frame files; return its path."""
    ids, nuc, prot, index = _shard_files(tmp_path, proteins, n_shards, dna=dna)
    frames = nuc if spec.kind == "dna" else prot
    out = tmp_path / spec.name / f"shard_{shard:04d}.safetensors"
    stats = run_extraction(
        spec,
        directory,
        frames,
        index,
        shard,
        out,
        300,
        "cpu",
        _precision(spec, directory, tmp_path),
        **kwargs,
    )
    return out, stats, ids


def _sequences(spec, count=23, seed=0):
    rng = random.Random(seed)
    if spec.kind == "dna":
        return [_random_dna(rng, rng.randint(20, 301)) for _ in range(count)]
    return [_random_protein(rng, rng.randint(1, 120)) for _ in range(count)]


@pytest.mark.parametrize("name", ["standin_dnabert_48d", "standin_esm2_64d", "standin_fastesm_32d"])
def test_batched_equals_one_at_a_time(standins, name):
    spec, directory = standins[name]
    encoder = load_encoder(spec, directory, "cpu")
    seqs = _sequences(spec)
    batched, stats = embed_sequences(encoder, seqs)
    assert stats.batches < len(seqs)
    with torch.inference_mode():
        for i, seq in enumerate(seqs):
            ids = torch.tensor([encoder.tokenize([seq])[0]])
            hidden = encoder.hidden(ids, torch.ones_like(ids))[0]
            # the original's pooling, one sequence at a time
            single = hidden.mean(0) if spec.kind == "dna" else hidden[1:-1].mean(0)
            torch.testing.assert_close(batched[i], single, atol=1e-5, rtol=0)


def test_dataloader_workers_give_the_same_vectors(standins):
    spec, directory = standins["standin_dnabert_48d"]
    encoder = load_encoder(spec, directory, "cpu")
    seqs = _sequences(spec, 40, seed=5)
    inline, _ = embed_sequences(encoder, seqs, loader_workers=0)
    workers, stats = embed_sequences(encoder, seqs, loader_workers=2)
    assert torch.equal(inline, workers) and stats.records == 40


def _whole_shard_reference(encoder, sequences):
    """The extraction as it was before batches were streamed: every record tokenized first,
    batches planned on the exact counts, padded, embedded."""
    tokens = encoder.tokenize(sequences)
    out = torch.zeros((len(sequences), encoder.spec.width))
    with torch.inference_mode():
        for batch in token_budget_batches([len(t) for t in tokens], encoder.spec.tokens_per_batch):
            width = max(len(tokens[i]) for i in batch)
            ids = torch.full((len(batch), width), encoder.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, i in enumerate(batch):
                ids[row, : len(tokens[i])] = torch.tensor(tokens[i])
                mask[row, : len(tokens[i])] = 1
            out[batch] = encoder.embed(ids, mask)
    return out, sum(len(t) for t in tokens)


@pytest.mark.parametrize("name", ["standin_dnabert_48d", "standin_esm2_64d"])
def test_streamed_batches_equal_the_whole_shard_tokenized_path(
    standins, tmp_path, monkeypatch, name
):
    """Batches planned without tokenizing the shard, tokenized in DataLoader workers: the same
    vectors (fp32) and real token counts; the main process tokenizes nothing but the DNA
    plan's sample; every forward pass stays under the budget, though the DNA estimates fall
    short (the sample tokenizes into fewer tokens per base than the rest)."""
    import dataclasses
    import pickle

    import virnucpro_smk.models.batch_plan as batch_plan
    import virnucpro_smk.models.embeddings as embeddings

    spec, directory = standins[name]
    spec = dataclasses.replace(spec, tokens_per_batch=700)
    rng = random.Random(11)
    proteins = [_random_protein(rng, rng.randint(20, 100)) for _ in range(48)]
    # DNA: the plan's sample (the first 8) tokenizes into few tokens per base, the rest into
    # more, so the estimated batches come out over the budget and must be cut
    repeats = [("ACGT" * 80)[rng.randint(0, 3) :][: rng.randint(150, 300)] for _ in range(8)]
    dna = repeats + [_random_dna(rng, rng.randint(150, 300)) for _ in range(40)]
    monkeypatch.setattr(batch_plan, "PLAN_SAMPLE", 8)
    calls, shapes = [], []
    for cls in (batch_plan.DnaTokens, batch_plan.EsmTokens):  # counted in this process only
        monkeypatch.setattr(cls, "__call__", _counted(cls.__call__, calls))
    embed = embeddings.Encoder.embed
    monkeypatch.setattr(
        embeddings.Encoder,
        "embed",
        lambda self, i, m, p=True: shapes.append(i.shape) or embed(self, i, m, p),
    )
    out, stats, ids = _extract(spec, directory, tmp_path, proteins, dna=dna, loader_workers=2)
    assert calls == [], "the main process tokenized batches"
    streamed, passes = read_embeddings(out), list(shapes)
    assert streamed.ids == ids

    encoder = load_encoder(spec, directory, "cpu")
    assert pickle.loads(pickle.dumps(encoder.tokenize))(dna[:3]) == encoder.tokenize(dna[:3])
    sequences = dna if spec.kind == "dna" else proteins
    reference, tokens = _whole_shard_reference(encoder, sequences)
    torch.testing.assert_close(streamed.matrix, reference, atol=1e-6, rtol=0)
    assert stats["tokens"] == tokens and stats["records"] == 48
    assert all(rows * width <= spec.tokens_per_batch for rows, width in passes)
    assert stats["forward_passes"] == len(passes)
    if spec.kind == "dna":  # planned at several budgets on estimates, packed by real counts
        assert stats["forward_passes"] > stats["batches"]
    else:  # exact counts: each planned batch is one forward pass
        assert stats["forward_passes"] == stats["batches"]


def _counted(function, calls):
    def call(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    return call


def test_token_plan_is_exact_for_proteins_and_estimated_from_a_sample_for_dna(standins):
    from virnucpro_smk.models.batch_plan import plan_batches

    for name in ("standin_esm2_64d", "standin_dnabert_48d"):
        spec, directory = standins[name]
        encoder = load_encoder(spec, directory, "cpu")
        seqs = _sequences(spec, 30, seed=2) + (["M" * 1500] if spec.kind == "protein" else [])
        exact = [len(t) for t in encoder.tokenize(seqs)]
        planned = encoder.tokenize.plan_lengths(seqs, 10)
        if spec.kind == "protein":
            assert planned == exact  # residues truncated at max_residues, plus BOS/EOS
        else:
            assert planned[:10] == exact[:10]  # the sample is tokenized
            assert all(n <= len(s) + 2 for n, s in zip(planned, seqs, strict=True))
            assert planned[10:] != exact[10:]  # the others are estimates
        again = plan_batches(encoder.tokenize, list(seqs), 300, sample=10)
        assert again == plan_batches(encoder.tokenize, seqs, 300, sample=10)


def test_order_is_preserved_and_ids_kept(standins, tmp_path):
    spec, directory = standins["standin_fastesm_32d"]
    rng = random.Random(3)
    seqs = [_random_protein(rng, n) for n in (90, 5, 60, 1, 120, 33)]
    out, stats, ids = _extract(spec, directory, tmp_path, seqs, started=0.0)
    emb = read_embeddings(out, expect_model=spec.name, expect_width=32, expect_chunk_length=300)
    assert emb.ids == ids
    encoder = load_encoder(spec, directory, "cpu")
    for i in (0, 3):
        alone, _ = embed_sequences(encoder, [seqs[i]])
        torch.testing.assert_close(emb.matrix[i], alone[0], atol=1e-5, rtol=0)
    meta = read_metadata(out)
    assert meta["pooling"] == "mean_residues" and meta["source"] == spec.source
    assert meta["versions"]["torch"] == torch.__version__
    assert meta["dtype"] == "float32" and meta["device"] == "cpu"
    assert meta["model_commit"].startswith("sha256:") and meta["project_version"] == __version__
    # the run's figures are returned (the rule's stats JSON), never stored in the file
    assert not {"stats", "resumed_at_batch", "embed_seconds"} & set(meta)
    assert stats["records"] == 6 and stats["resumed_at_batch"] == 0 and stats["device"] == "cpu"
    for timer in ("start_seconds", "load_seconds", "plan_seconds", "embed_seconds"):
        assert stats[timer] >= 0, timer
    assert stats["write_seconds"] >= 0 and stats["wait_seconds"] >= 0


def test_each_shard_reads_its_byte_range_and_loads_the_model_once(standins, tmp_path, monkeypatch):
    import virnucpro_smk.models.embeddings as embeddings

    spec, directory = standins["standin_dnabert_48d"]
    proteins = [_random_protein(random.Random(i), 20 + i) for i in range(11)]
    loads = []
    real = embeddings.load_encoder
    monkeypatch.setattr(
        embeddings, "load_encoder", lambda *a, **k: loads.append(a) or real(*a, **k)
    )
    seen = []
    for shard in range(3):
        out, _, ids = _extract(spec, directory, tmp_path, proteins, shard=shard, n_shards=3)
        seen += read_embeddings(out).ids
        assert len(loads) == shard + 1, "one model load per job"
    assert seen == ids, "the three byte ranges cover every record once, in order"
    dna = {
        r.split("\n")[0]: r.split("\n")[1]
        for r in (tmp_path / "sample" / "identified_nucleotide.fa").read_text().split(">")[1:]
    }
    whole, _ = embed_sequences(real(spec, directory, "cpu"), [dna[i] for i in ids])
    last = read_embeddings(tmp_path / spec.name / "shard_0002.safetensors")
    torch.testing.assert_close(last.matrix, whole[-len(last.ids) :], atol=1e-5, rtol=0)


def test_a_job_table_from_another_run_is_refused(standins, tmp_path):
    from virnucpro_smk.preprocess.shards import read_shard_records

    _, nuc, prot, index = _shard_files(tmp_path, ["MKV", "MKVL", "AAAA"], 2)
    assert [r for r, _ in read_shard_records(prot, index, 1, "protein")] == [
        "seq0_chunk_2F1",
        "seq0_chunk_3F1",
    ]
    prot.write_text(">other_chunk_1F1\nMKV\n" + prot.read_text().split("\n", 2)[2])
    with pytest.raises(InputError, match="starts at 'other_chunk_1F1'"):
        read_shard_records(prot, index, 0, "protein")
    with pytest.raises(InputError, match="no job 2"):
        read_shard_records(prot, index, 2, "protein")
    nuc.write_text(nuc.read_text()[:-20])
    with pytest.raises(InputError, match="shorter than"):
        read_shard_records(nuc, index, 1, "dna")


def test_empty_shard_gives_an_empty_matrix_without_loading_the_model(standins, tmp_path):
    """In a fresh process: a 0-record shard imports no transformers and loads no model."""
    import subprocess
    import sys

    from conftest import ROOT

    spec, directory = standins["standin_esm2_64d"]
    _, _, prot, index = _shard_files(tmp_path, ["MKV", "MKVL"], 3)
    precision = _precision(spec, directory, tmp_path)
    out = tmp_path / spec.name / "shard_0000.safetensors"
    code = f"""
import sys
import virnucpro_smk.models.embeddings as e
e.load_encoder = None  # calling it would fail
from tests_standin import spec
from virnucpro_smk.models.extraction_job import ExtractionJob, ExtractionSettings
from virnucpro_smk.runtime.config_defaults import schema_defaults
job = ExtractionJob(spec, {str(directory)!r}, {str(prot)!r}, {str(index)!r}, 0, {str(out)!r},
                    300, {str(precision)!r}, "auto")
settings = ExtractionSettings.from_config(schema_defaults("extraction"))
stats = e.extract_shard(job, settings, gpu_requested=1)
assert stats["records"] == 0, stats
assert "transformers" not in sys.modules, "transformers was imported"
"""
    helper = tmp_path / "tests_standin.py"
    config = ROOT / "config" / "standin.yaml"
    helper.write_text(
        "import yaml\nfrom virnucpro_smk.models.registry import parse_registry\n"
        f"spec = parse_registry(yaml.safe_load(open({str(config)!r}))['models'])[{spec.name!r}]\n"
    )
    env = {"PYTHONPATH": f"{ROOT / 'workflow' / 'scripts'}:{tmp_path}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    emb = read_embeddings(out)
    assert emb.ids == [] and tuple(emb.matrix.shape) == (0, 64)
    assert read_metadata(out)["model_commit"].startswith("sha256:")


def test_a_gpu_job_without_cuda_fails_instead_of_running_on_the_cpu(standins, tmp_path):
    from virnucpro_smk.errors import EnvironmentCheckError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    spec, directory = standins["standin_fastesm_32d"]
    _, _, prot, index = _shard_files(tmp_path, ["MKV"], 1)
    with pytest.raises(EnvironmentCheckError, match="the job was given gpu=1 but CUDA"):
        run_extraction(
            spec,
            directory,
            prot,
            index,
            0,
            tmp_path / "o.safetensors",
            300,
            "auto",
            _precision(spec, directory, tmp_path),
            gpu_requested=1,
        )


def test_rare_letters_and_a_5000_residue_protein(standins):
    spec, directory = standins["standin_esm2_64d"]
    encoder = load_encoder(spec, directory, "cpu")
    long = _random_protein(random.Random(1), 5000)
    vectors, _ = embed_sequences(encoder, ["MUZOBX", long, "X"])
    assert torch.isfinite(vectors).all()
    # residues beyond max_residues (fair-esm's 1024) are cut, as the original does
    truncated, _ = embed_sequences(encoder, [long[:1024]])
    torch.testing.assert_close(vectors[1], truncated[0], atol=1e-5, rtol=0)


def test_token_budget_batches():
    lengths = [5, 100, 30, 30, 7, 400]
    batches = token_budget_batches(lengths, 120)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= 120
    assert batches[0] == [5], "the longest record comes first (and alone: over budget)"


def test_path_and_metadata_guard(standins, tmp_path):
    spec, directory = standins["standin_fastesm_32d"]
    good, _, _ = _extract(spec, directory, tmp_path, ["MKV", "MKVL"])
    misplaced = tmp_path / "fastesm650_1280d" / "shard_0000.safetensors"
    misplaced.parent.mkdir()
    misplaced.write_bytes(good.read_bytes())
    with pytest.raises(ModelMismatchError, match="lies in fastesm650_1280d/"):
        read_embeddings(misplaced)
    with pytest.raises(ModelMismatchError, match="expected esm2_3b_2560d"):
        read_embeddings(good, expect_model="esm2_3b_2560d")
    with pytest.raises(ModelMismatchError, match="expected width 1280"):
        read_embeddings(good, expect_width=1280)
    with pytest.raises(ModelMismatchError, match="chunk length 500"):
        read_embeddings(good, expect_chunk_length=500)


def test_writer_refuses_a_width_that_contradicts_the_metadata(tmp_path):
    with pytest.raises(ModelMismatchError, match="declares width 1280"):
        write_embeddings(
            tmp_path / "x.safetensors",
            ["a"],
            torch.zeros(1, 2560),
            {"model": "fastesm650_1280d", "width": 1280},
        )


def test_missing_weights_name_the_rule_to_run(tmp_path):
    spec = _protein_spec("fastesm650_1280d", "hub", "Synthyra/FastESM2_650", 1280)
    _, _, prot, index = _shard_files(tmp_path, ["MKV"], 1)
    with pytest.raises(ModelMissingError, match="snakemake download_models"):
        run_extraction(
            spec,
            tmp_path / "nowhere",
            prot,
            index,
            0,
            tmp_path / "o.safetensors",
            300,
            "cpu",
            tmp_path / "precision.json",
        )


def test_local_directory_provider(standins, tmp_path):
    """A plain model folder (no download manifest) embeds exactly as the same weights do when
    they come through the registry's own provider."""
    import shutil

    spec, directory = standins["standin_fastesm_32d"]
    folder = tmp_path / "my_model"
    shutil.copytree(directory, folder, ignore=shutil.ignore_patterns("manifest.json"))
    local = _protein_spec("mylocal_32d", "local", str(folder), 32)
    seqs = _sequences(local, count=8, seed=4)
    vectors, _ = embed_sequences(load_encoder(local, folder, "cpu"), seqs)
    expected, _ = embed_sequences(load_encoder(spec, directory, "cpu"), seqs)
    assert vectors.shape == (8, 32)
    assert torch.equal(vectors, expected)


def test_declared_width_must_match_the_model(standins):
    spec, directory = standins["standin_fastesm_32d"]
    wrong = _protein_spec("standin_wrong_64d", "standin", "x", 64)
    (directory / "manifest.json").write_text(
        json.dumps(
            {
                **json.loads((directory / "manifest.json").read_text()),
                "model": wrong.name,
                "width": 64,
            }
        )
    )
    try:
        with pytest.raises(ModelMismatchError, match="hidden size is 32"):
            load_encoder(wrong, directory, "cpu")
    finally:
        (directory / "manifest.json").write_text(
            json.dumps(
                {
                    **json.loads((directory / "manifest.json").read_text()),
                    "model": spec.name,
                    "width": 32,
                }
            )
        )


@pytest.mark.parametrize(
    ("name", "entry", "message"),
    [
        ("fastesm650", {"width": 1280}, "end in _<width>d"),
        ("fastesm650_1024d", {"width": 1280, "kind": "protein", "architecture": "esm2"}, "1024d"),
        ("x_8d", {"width": 8, "kind": "dna", "architecture": "esm2"}, "not a 'dna' model"),
        (
            "fake_8d",
            {"width": 8, "kind": "dna", "architecture": "dnabert2", "provider": "standin"},
            "'standin' in their name",
        ),
        (
            "standin_8d",
            {"width": 8, "kind": "dna", "architecture": "dnabert2", "provider": "hub"},
            "'standin' in their name",
        ),
    ],
)
def test_registry_validation(name, entry, message):
    with pytest.raises(InputError, match=message):
        parse_model(name, {"source": "s", "provider": "hub", **entry})


def test_model_selection_errors_name_the_key():
    import yaml

    from conftest import ROOT

    registry = parse_registry(yaml.safe_load((ROOT / "config/config.yaml").read_text())["models"])
    with pytest.raises(InputError, match="config key dna_model"):
        select_models(registry, "fastesm650_1280d", ["esm2_3b_2560d"])
    with pytest.raises(InputError, match="config key protein_models"):
        select_models(registry, "dnaberts_768d", ["dnaberts_768d"])
    dna, proteins = select_models(registry, "dnaberts_768d", ["esm2_3b_2560d", "fastesm650_1280d"])
    assert [p.width for p in proteins] == [2560, 1280] and dna.width == 768


def test_precision_on_the_cpu_is_float32_without_a_check(standins):
    from virnucpro_smk.models.precision import decide_precision

    spec, directory = standins["standin_dnabert_48d"]
    record = decide_precision(spec, directory, "cpu")
    assert record["dtype"] == "float32" and record["check"] == "float32, no check needed"
    assert record["min_cosine"] is None and record["allow_tf32"] is False
    assert record["model"] == spec.name and record["model_commit"].startswith("sha256:")


@pytest.mark.parametrize("name", ["standin_dnabert_48d", "standin_esm2_64d"])
def test_reduced_precision_is_kept_only_when_it_stays_close(standins, name):
    from virnucpro_smk.models.precision import decide_precision, precision_sample

    spec, directory = standins[name]
    sample = precision_sample(spec, n=16)
    lengths = {len(s) for s in sample}
    assert lengths == ({300} if spec.kind == "dna" else {100}), lengths
    kept = decide_precision(spec, directory, "cpu", sample, candidate=torch.bfloat16)
    assert kept["dtype"] == "bfloat16" and kept["allow_tf32"] is False
    assert 0.99 <= kept["min_cosine"] <= kept["mean_cosine"] <= 1.0
    assert kept["call_flip_fraction"] is None
    # an unreachable bar: the decision falls back to float32 with TF32 matmuls
    strict = decide_precision(
        spec,
        directory,
        "cpu",
        sample,
        candidate=torch.bfloat16,
        min_cosine=1.01,
        classifier=lambda x: x[:, 0] > 0,
    )
    assert strict["dtype"] == "float32" and strict["allow_tf32"] is True
    assert 0.0 <= strict["call_flip_fraction"] <= 1.0


def test_extraction_uses_the_decided_dtype_and_refuses_another_models_decision(standins, tmp_path):
    import shutil

    from virnucpro_smk.models.precision import read_precision

    spec, _ = standins["standin_fastesm_32d"]
    other, shared_dir = standins["standin_esm2_64d"]
    other_dir = tmp_path / "copy"
    shutil.copytree(shared_dir, other_dir)  # this test edits the weights
    path = _precision(other, other_dir, tmp_path)
    with pytest.raises(
        ModelMismatchError, match="decided for another model: model 'standin_esm2_64d'"
    ):
        read_precision(path, spec, "cpu")
    with pytest.raises(ModelMismatchError, match="decided on cpu, this job runs on cuda"):
        read_precision(path, other, "cuda")
    record = json.loads(path.read_text())
    record["dtype"] = "bfloat16"  # as if decided on a bf16-capable device
    path.write_text(json.dumps(record))
    _, _, prot, index = _shard_files(tmp_path, ["MKVLA", "MKVL"], 1)
    out = tmp_path / other.name / "shard_0000.safetensors"
    run_extraction(other, other_dir, prot, index, 0, out, 300, "cpu", path)
    assert read_metadata(out)["dtype"] == "bfloat16"
    weights = other_dir / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-2] ^= 0x01  # the weights change after the decision (same size, new mtime)
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelMismatchError, match="rerun check_precision"):
        run_extraction(other, other_dir, prot, index, 0, out, 300, "cpu", path)
