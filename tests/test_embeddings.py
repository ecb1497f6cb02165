"""Extraction with stand-in models: batching, pooling, order, files and the identity guard."""

import json
import random

import pytest
import torch

from virnucpro_smk.artifacts import read_embeddings, read_metadata, write_embeddings
from virnucpro_smk.embeddings import (
    embed_sequences,
    extract_shard,
    load_encoder,
    token_budget_batches,
)
from virnucpro_smk.errors import InputError, ModelMismatchError, ModelMissingError
from virnucpro_smk.registry import parse_model, parse_registry, select_models

AA = "ACDEFGHIKLMNPQRSTVWY"


def _protein_spec(name, provider, source, width):
    entry = {"kind": "protein", "architecture": "esm2", "provider": provider, "source": source}
    return parse_model(name, {**entry, "width": width})


def _random_dna(rng, n):
    return "".join(rng.choices("ACGT", k=n))


def _random_protein(rng, n):
    return "".join(rng.choices(AA, k=n))


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


def test_order_is_preserved_and_ids_kept(standins, tmp_path):
    spec, directory = standins["standin_fastesm_32d"]
    rng = random.Random(3)
    seqs = [_random_protein(rng, n) for n in (90, 5, 60, 1, 120, 33)]
    fasta = tmp_path / "shard.faa"
    fasta.write_text("".join(f">p{i}\n{s}\n" for i, s in enumerate(seqs)))
    out = tmp_path / spec.name / "shard_0000.safetensors"
    extract_shard(spec, directory, fasta, out, chunk_length=300, device="cpu")
    emb = read_embeddings(out, expect_model=spec.name, expect_width=32, expect_chunk_length=300)
    assert emb.ids == [f"p{i}" for i in range(6)]
    encoder = load_encoder(spec, directory, "cpu")
    for i in (0, 3):
        alone, _ = embed_sequences(encoder, [seqs[i]])
        torch.testing.assert_close(emb.matrix[i], alone[0], atol=1e-5, rtol=0)
    meta = read_metadata(out)
    assert meta["pooling"] == "mean_residues" and meta["source"] == spec.source
    assert meta["versions"]["torch"] == torch.__version__
    assert meta["stats"]["records"] == 6


def test_empty_shard_gives_an_empty_matrix(standins, tmp_path):
    spec, directory = standins["standin_dnabert_48d"]
    fasta = tmp_path / "empty.fna"
    fasta.write_text("")
    out = tmp_path / spec.name / "shard_0003.safetensors"
    stats = extract_shard(spec, directory, fasta, out, chunk_length=300, device="cpu")
    emb = read_embeddings(out)
    assert stats.records == 0 and emb.ids == [] and tuple(emb.matrix.shape) == (0, 48)


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
    fasta = tmp_path / "s.faa"
    fasta.write_text(">a\nMKV\n>b\nMKVL\n")
    good = tmp_path / spec.name / "shard_0000.safetensors"
    extract_shard(spec, directory, fasta, good, chunk_length=300, device="cpu")
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
    fasta = tmp_path / "s.faa"
    fasta.write_text(">a\nMKV\n")
    with pytest.raises(ModelMissingError, match="snakemake download_models"):
        extract_shard(spec, tmp_path / "nowhere", fasta, tmp_path / "o.safetensors", 300, "cpu")


def test_local_directory_provider(standins, tmp_path):
    _spec, directory = standins["standin_fastesm_32d"]
    local = _protein_spec("mylocal_32d", "local", str(directory), 32)
    encoder = load_encoder(local, directory, "cpu")
    vectors, _ = embed_sequences(encoder, ["MKV"])
    assert vectors.shape == (1, 32)


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


def test_reduced_precision_check(standins):
    from virnucpro_smk.embeddings import check_precision

    spec, directory = standins["standin_dnabert_48d"]
    encoder = load_encoder(spec, directory, "cpu")
    assert check_precision(encoder, ["ACGT" * 20]) is None  # fp32: nothing to check
    encoder.model.to(torch.bfloat16)
    encoder.dtype = torch.bfloat16
    cosine = check_precision(encoder, _sequences(spec, 8))
    assert 0.99 <= cosine <= 1.0
