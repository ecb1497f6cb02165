"""FastESM2 via transformers' EsmModel, against the reference FastESM fixture."""

import json
import shutil

import pytest
import torch
from Bio.SeqIO.FastaIO import SimpleFastaParser
from safetensors.torch import load_file

from virnucpro_smk.models.esm import ESM_VOCAB, EsmTokenizer, load_esm

ATOL = 1e-5


@pytest.fixture(scope="module")
def fastesm(reference):
    folder = reference / "fastesm_tiny"
    with open(folder / "sequences.fasta") as handle:
        seqs = [s for _, s in SimpleFastaParser(handle)]
    return folder, load_file(folder / "fixture.safetensors"), seqs


def test_vocabulary_file_is_the_standard_alphabet(fastesm):
    folder, _, _ = fastesm
    assert (folder / "vocab.txt").read_text().split() == ESM_VOCAB


def test_tokenizer_matches_the_reference_batch_converter(fastesm):
    _, fx, seqs = fastesm
    tok = EsmTokenizer(1024)
    for i, seq in enumerate(seqs):
        ids = tok.encode(seq)
        assert ids == fx["input_ids"][i, : len(seq) + 2].tolist()
    # U, Z, O, B and X are real tokens, not <unk>
    assert tok.unk_id not in tok.encode("UZOBX")


def test_token_dropout_on_reproduces_current_fastesm(fastesm):
    folder, fx, seqs = fastesm
    model = load_esm(folder, token_dropout=True)
    with torch.inference_mode():
        for i, seq in enumerate(seqs):
            ids = torch.tensor([EsmTokenizer(1024).encode(seq)])
            hidden = model(input_ids=ids).last_hidden_state
            torch.testing.assert_close(hidden, fx[f"single_{i}_last_hidden"], atol=ATOL, rtol=0)
            torch.testing.assert_close(
                hidden[0, 1 : len(seq) + 1].mean(0), fx["single_mean"][i], atol=ATOL, rtol=0
            )
        masked = model(input_ids=fx["mask_example_input_ids"]).last_hidden_state
        batch = model(input_ids=fx["input_ids"], attention_mask=fx["attention_mask"])
    torch.testing.assert_close(masked, fx["mask_example_last_hidden"], atol=ATOL, rtol=0)
    lengths = fx["lengths"].tolist()
    pooled = torch.stack(
        [batch.last_hidden_state[i, 1 : n + 1].mean(0) for i, n in enumerate(lengths)]
    )
    torch.testing.assert_close(pooled, fx["batch_mean"], atol=ATOL, rtol=0)


def test_token_dropout_off_is_the_dec2024_fastesm(fastesm):
    folder, fx, seqs = fastesm
    model = load_esm(folder, token_dropout=False)
    with torch.inference_mode():
        pooled = torch.stack(
            [
                model(input_ids=torch.tensor([EsmTokenizer(1024).encode(s)]))
                .last_hidden_state[0, 1 : len(s) + 1]
                .mean(0)
                for s in seqs
            ]
        )
    torch.testing.assert_close(pooled, fx["dec2024_single_mean"], atol=ATOL, rtol=0)
    assert (pooled - fx["single_mean"]).abs().max() > 0.1, "the two settings must differ"


@pytest.mark.parametrize("name", ["fastesm650_1280d", "esm2_3b_2560d"])
def test_shipped_protein_entries_embed_as_fair_esm_does(fastesm, name):
    """A shipped registry entry, loaded the way extraction loads it, gives fair-esm's vectors
    (token-dropout scaling on); the same entry with token_dropout flipped gives the other."""
    import yaml

    from conftest import ROOT
    from virnucpro_smk.models.embeddings import embed_sequences, load_encoder
    from virnucpro_smk.models.registry import parse_model

    folder, fx, seqs = fastesm
    entry = yaml.safe_load((ROOT / "config/config.yaml").read_text())["models"][name]
    tiny = {**entry, "provider": "local", "source": str(folder), "width": 64}

    def embed(values):
        spec = parse_model("tiny_esm_64d", values)
        return embed_sequences(load_encoder(spec, folder, "cpu"), seqs)[0]

    torch.testing.assert_close(embed(tiny), fx["single_mean"], atol=ATOL, rtol=0)
    off = embed({**tiny, "token_dropout": False})
    torch.testing.assert_close(off, fx["dec2024_single_mean"], atol=ATOL, rtol=0)


def test_missing_encoder_weights_are_refused(fastesm, tmp_path):
    from safetensors.torch import save_file

    from virnucpro_smk.errors import ModelMissingError

    folder, _, _ = fastesm
    shutil.copy(folder / "config.json", tmp_path / "config.json")
    state = load_file(folder / "model.safetensors")
    state = {k: v for k, v in state.items() if "layer.1." not in k}
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(ModelMissingError, match="lacks"):
        load_esm(tmp_path, token_dropout=True)


def test_fast_esm_config_needs_no_remote_code(fastesm):
    folder, _, _ = fastesm
    assert json.loads((folder / "config.json").read_text())["model_type"] == "fast_esm"
    assert "auto_map" not in json.loads((folder / "config.json").read_text())
    model = load_esm(folder, token_dropout=True)
    assert type(model).__name__ == "EsmModel"
    assert model.config._attn_implementation == "sdpa"
