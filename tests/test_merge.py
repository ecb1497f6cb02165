"""Merged features: parity with the original's merged tensor and every assertion path."""

import math

import pytest
import torch

from virnucpro_smk.artifacts import EmbeddingFile, read_embeddings, write_embeddings
from virnucpro_smk.errors import ModelMismatchError
from virnucpro_smk.legacy import read_legacy_dnabert, read_legacy_esm, read_legacy_merged
from virnucpro_smk.merge import merge_files, merge_pair, read_merged


def _meta(model, kind, width, chunk=500):
    return {
        "model": model,
        "kind": kind,
        "width": width,
        "chunk_length": chunk,
        "source": "s",
        "revision": "r",
        "pooling": "p",
        "dtype": "float32",
    }


@pytest.mark.parametrize("folder", ["", "test_fixed_500bp"])
def test_original_files_merge_to_the_original_tensor(reference, folder):
    base = reference / folder if folder else reference
    dna_ids, dna = read_legacy_dnabert(base / "output_1_DNABERT_S.pt")
    esm_ids, esm = read_legacy_esm(base / "output_1_ESM.pt")
    # the original ESM file is in batch order: put it in DNABERT order as the original did
    order = [esm_ids.index(i) for i in dna_ids]
    ids, merged, meta = merge_pair(
        EmbeddingFile(dna_ids, dna, _meta("dnaberts_768d", "dna", 768)),
        EmbeddingFile(dna_ids, esm[order], _meta("esm2_3b_2560d", "protein", 2560)),
        "dna.pt",
        "esm.pt",
    )
    ref_ids, ref = read_legacy_merged(base / "output_1_merged.pt")
    assert ids == ref_ids
    assert torch.equal(merged, ref)
    assert meta["width"] == 3328 and meta["model"] == "dnaberts_768d+esm2_3b_2560d"


def _write(tmp_path, model, kind, width, ids, matrix=None, chunk=300):
    path = tmp_path / model / "shard_0000.safetensors"
    matrix = torch.randn(len(ids), width) if matrix is None else matrix
    write_embeddings(path, ids, matrix, _meta(model, kind, width, chunk))
    return path


def test_merge_writes_namespaced_features(tmp_path):
    ids = ["a_chunk_1F1", "a_chunk_1R2"]
    dna = _write(tmp_path, "standin_dnabert_48d", "dna", 48, ids)
    prot = _write(tmp_path, "standin_fastesm_32d", "protein", 32, ids)
    out = tmp_path / "standin_dnabert_48d+standin_fastesm_32d" / "shard_0000.safetensors"
    assert merge_files(dna, prot, out, chunk_length=300) == 2
    emb = read_merged(out, "standin_dnabert_48d", "standin_fastesm_32d", width=80)
    assert emb.width == 80 and emb.ids == ids
    torch.testing.assert_close(emb.matrix[:, :48], read_embeddings(dna).matrix)
    with pytest.raises(ModelMismatchError):
        read_merged(out, "standin_dnabert_48d", "standin_esm2_64d")


def test_mismatched_ids_are_listed(tmp_path):
    dna = _write(tmp_path, "d_8d", "dna", 8, [f"x{i}" for i in range(15)])
    prot = _write(tmp_path, "p_4d", "protein", 4, [f"x{i}" for i in range(3)] + ["y"])
    with pytest.raises(ModelMismatchError) as info:
        merge_files(dna, prot, tmp_path / "d_8d+p_4d" / "s.safetensors")
    text = str(info.value)
    assert "only in" in text and "x3" in text and "(and 2 more)" in text and "'y'" not in text
    assert str(dna) in text and str(prot) in text


def test_reordered_ids_are_refused(tmp_path):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["b", "a"])
    with pytest.raises(ModelMismatchError, match="different order"):
        merge_files(dna, prot, tmp_path / "d_8d+p_4d" / "s.safetensors")


def test_nan_rows_are_named(tmp_path):
    matrix = torch.zeros(3, 4)
    matrix[1, 2] = math.nan
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b", "c"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a", "b", "c"], matrix)
    with pytest.raises(ModelMismatchError, match=r"NaN or Inf: b$"):
        merge_files(dna, prot, tmp_path / "d_8d+p_4d" / "s.safetensors")


def test_wrong_width_in_a_file_is_refused(tmp_path):
    path = tmp_path / "p_4d" / "shard_0000.safetensors"
    from safetensors.torch import save_file

    from virnucpro_smk.artifacts import FORMAT

    path.parent.mkdir()
    save_file(
        {"embeddings": torch.zeros(1, 5)},
        str(path),
        {"format": FORMAT, "model": "p_4d", "width": "4", "ids": '["a"]'},
    )
    with pytest.raises(ModelMismatchError, match=r"metadata says width 4, matrix is \(1, 5\)"):
        read_embeddings(path)


def test_chunk_lengths_and_kinds_must_agree(tmp_path):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"], chunk=300)
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"], chunk=500)
    with pytest.raises(ModelMismatchError, match="different chunk lengths"):
        merge_files(dna, prot, tmp_path / "d_8d+p_4d" / "s.safetensors")
    with pytest.raises(ModelMismatchError, match="must hold DNA"):
        merge_files(prot, dna, tmp_path / "p_4d+d_8d" / "s.safetensors")


def test_merged_output_must_live_under_its_pair(tmp_path):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"])
    with pytest.raises(ModelMismatchError, match=r"must live in d_8d\+p_4d/"):
        merge_files(dna, prot, tmp_path / "elsewhere" / "s.safetensors")
