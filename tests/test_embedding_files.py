"""The embedding file format: no per-row header limit, typed metadata, rows written as they
come, every format limit refused before any vector is computed."""

import json

import pytest
import torch
from safetensors import safe_open

from virnucpro_smk.errors import InputError, ModelMismatchError
from virnucpro_smk.io import embedding_files
from virnucpro_smk.io.embedding_files import (
    EmbeddingReader,
    EmbeddingWriter,
    read_metadata,
    write_embeddings,
)
from whole_embeddings import read_embeddings


def _meta(width=2, **extra):
    return {"model": "m_2d", "kind": "protein", "width": width, "chunk_length": 300, **extra}


def test_five_million_ids_round_trip(tmp_path):
    """v1 kept ids in the safetensors header (capped at 100 MB): 4,000,000 ids of ~26
    characters failed at the write. Ids are data now: 5,000,000 ids of 27 characters (135 MB
    of ids, more than the header cap) round-trip, the header stays small."""
    n = 5_000_000
    ids = [f"NC_{i:09d}.1_chunk_{i % 9 + 1}F1" for i in range(n)]
    assert sum(map(len, ids)) > embedding_files.MAX_HEADER
    matrix = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    path = tmp_path / "m_1d" / "shard_0000.safetensors"
    write_embeddings(path, ids, matrix, {**_meta(1), "model": "m_1d"})
    back = read_embeddings(path, expect_model="m_1d", expect_width=1)
    assert back.ids == ids
    assert torch.equal(back.matrix, matrix)
    with open(path, "rb") as handle:
        assert int.from_bytes(handle.read(8), "little") < 100_000  # header: metadata only
    del back, ids, matrix


def test_metadata_keeps_its_types(tmp_path):
    """An all-digit commit stays a string (v1 decoded every value with json.loads)."""
    path = tmp_path / "m_2d" / "shard_0000.safetensors"
    meta = _meta(model_commit="1234567", allow_tf32=False, versions={"torch": "2"}, dtype="null")
    write_embeddings(path, ["a"], torch.ones(1, 2), meta)
    back = read_metadata(path)
    assert back["model_commit"] == "1234567"
    assert back["dtype"] == "null" and back["allow_tf32"] is False
    assert back["versions"] == {"torch": "2"} and back["width"] == 2


def test_any_safetensors_reader_opens_the_file(tmp_path):
    path = tmp_path / "m_2d" / "shard_0000.safetensors"
    matrix = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    write_embeddings(path, ["x", "yy", "zzz"], matrix, _meta())
    with safe_open(str(path), framework="pt") as handle:
        assert torch.equal(handle.get_tensor("embeddings"), matrix)
        assert bytes(handle.get_tensor("id_bytes").tolist()) == b"x\nyy\nzzz\n"
        assert handle.get_tensor("id_offsets").tolist() == [0, 2, 5, 9]
        assert json.loads(handle.metadata()["meta"])["model"] == "m_2d"


def test_rows_written_in_any_order_land_in_place(tmp_path):
    path = tmp_path / "m_2d" / "part"
    writer = EmbeddingWriter(path, ["a", "b", "c", "d"], _meta())
    writer.write_rows([3, 0], torch.tensor([[3.0, 3.0], [0.0, 0.0]]))
    writer.write_rows(torch.tensor([1, 2]), torch.tensor([[1.0, 1.0], [2.0, 2.0]]))
    writer.finish(_meta(pooling="mean_residues"))
    with EmbeddingReader(path) as reader:
        assert reader.ids() == ["a", "b", "c", "d"]
        assert reader.rows(1, 4).tolist() == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
        assert reader.meta["pooling"] == "mean_residues"


def test_limits_are_refused_when_the_file_is_created(tmp_path, monkeypatch):
    """Before any vector exists: ids a line cannot hold, and a disk too small for the file."""
    with pytest.raises(InputError, match="without line breaks, got 'b\\\\n'"):
        EmbeddingWriter(tmp_path / "f", ["a", "b\n"], _meta())

    class Usage:
        free = 1000

    monkeypatch.setattr(embedding_files.shutil, "disk_usage", lambda _: Usage)
    with pytest.raises(InputError, match=r"needs [\d.]+ MiB, 0.0 MiB free"):
        EmbeddingWriter(tmp_path / "g", ["a"] * 10_000, _meta())
    assert not (tmp_path / "g").exists()


def test_wrong_width_rows_are_refused(tmp_path):
    writer = EmbeddingWriter(tmp_path / "f", ["a"], _meta())
    with pytest.raises(ModelMismatchError, match="declared width 2"):
        writer.write_rows([0], torch.ones(1, 3))
    writer.close()


def test_a_v1_file_is_refused_in_one_line(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "m_2d" / "old.safetensors"
    path.parent.mkdir()
    meta = {"format": "virnucpro-smk/embeddings/v1", "ids": '["a"]', "model": "m_2d"}
    save_file({"embeddings": torch.zeros(1, 2)}, str(path), meta)
    with pytest.raises(ModelMismatchError, match="not a virnucpro-smk/embeddings/v2 file"):
        read_embeddings(path)
