"""Features joined at consumption: parity with the original's merged tensor, every check."""

import math

import pytest
import torch

from virnucpro_smk.classify.features import (
    FeatureBlocks,
    PairedFeatures,
    merge_pair,
)
from virnucpro_smk.errors import ModelMismatchError
from virnucpro_smk.io.embedding_files import EmbeddingFile, write_embeddings
from virnucpro_smk.io.legacy import read_legacy_vectors
from whole_embeddings import read_embeddings


def _meta(model, kind, width, chunk=500, **extra):
    return {
        **extra,
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
    dna = read_legacy_vectors(base / "output_1_DNABERT_S.pt")
    esm = read_legacy_vectors(base / "output_1_ESM.pt")  # in ESM batch order: a dict
    dna_ids = list(dna)  # the original merged in DNABERT order
    ids, merged, meta = merge_pair(
        EmbeddingFile(dna_ids, torch.stack(list(dna.values())), _meta("dnaberts_768d", "dna", 768)),
        EmbeddingFile(
            dna_ids,
            torch.stack([esm[i] for i in dna_ids]),
            _meta("esm2_3b_2560d", "protein", 2560),
        ),
        "dna.pt",
        "esm.pt",
    )
    original = torch.load(base / "output_1_merged.pt", map_location="cpu", weights_only=True)
    ref_ids, ref = list(original["ids"]), original["data"]
    assert ids == ref_ids
    assert torch.equal(merged, ref)
    assert meta["width"] == 3328 and meta["model"] == "dnaberts_768d+esm2_3b_2560d"


def _write(tmp_path, model, kind, width, ids, matrix=None, chunk=300, **extra):
    path = tmp_path / model / "shard_0000.safetensors"
    matrix = torch.randn(len(ids), width) if matrix is None else matrix
    write_embeddings(path, ids, matrix, _meta(model, kind, width, chunk, **extra))
    return path


def _read_in_blocks(dna, prot, dna_model, prot_model, chunk_length=None, block_rows=2):
    with FeatureBlocks(dna, prot, dna_model, prot_model, chunk_length) as shard:
        parts = list(shard.blocks(block_rows=block_rows))
        assert [len(ids) for ids, _ in parts] == [
            min(block_rows, len(shard.ids) - i) for i in range(0, len(shard.ids), block_rows)
        ]
    ids = [fid for block, _ in parts for fid in block]
    return ids, torch.cat([m for _, m in parts]), shard.meta


def _read_in_one_block(dna, prot, dna_model, prot_model, chunk_length=None):
    return _read_in_blocks(dna, prot, dna_model, prot_model, chunk_length, block_rows=1000)


@pytest.fixture(params=["one block", "blocks of two"])
def read(request):
    """Every check holds whether a shard fits one block or spans several."""
    return _read_in_one_block if request.param == "one block" else _read_in_blocks


def test_features_join_dna_then_protein_with_pair_identity(tmp_path, read):
    ids = ["a_chunk_1F1", "a_chunk_1R2"]
    dna = _write(tmp_path, "standin_dnabert_48d", "dna", 48, ids)
    prot = _write(tmp_path, "standin_fastesm_32d", "protein", 32, ids)
    got_ids, matrix, meta = read(
        dna, prot, "standin_dnabert_48d", "standin_fastesm_32d", chunk_length=300
    )
    assert got_ids == ids and matrix.shape == (2, 80) and meta["width"] == 80
    torch.testing.assert_close(matrix[:, :48], read_embeddings(dna).matrix)
    torch.testing.assert_close(matrix[:, 48:], read_embeddings(prot).matrix)
    assert meta["model"] == "standin_dnabert_48d+standin_fastesm_32d"
    assert (meta["dna_width"], meta["protein_width"], meta["chunk_length"]) == (48, 32, 300)
    assert meta["dna_commit"] is None and meta["protein_commit"] is None


def test_weight_commits_are_recorded(tmp_path, read):
    dna_sha, prot_sha = "d7e3c5b1" * 5, "1234567" * 5 + "89abc"
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"], model_commit=dna_sha)
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"], model_commit=prot_sha)
    _, _, meta = read(dna, prot, "d_8d", "p_4d")
    assert meta["dna_commit"] == dna_sha and meta["protein_commit"] == prot_sha


def test_files_of_another_model_are_refused(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"])
    with pytest.raises(ModelMismatchError, match="expected p_8d, found p_4d"):
        read(dna, prot, "d_8d", "p_8d")
    with pytest.raises(ModelMismatchError, match="expected d_16d, found d_8d"):
        read(dna, prot, "d_16d", "p_4d")


def test_a_file_outside_its_model_directory_is_refused(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"])
    moved = tmp_path / "p_8d" / "shard_0000.safetensors"
    moved.parent.mkdir()
    prot.rename(moved)
    with pytest.raises(ModelMismatchError, match=r"lies in p_8d/ but holds p_4d"):
        read(dna, moved, "d_8d", "p_4d")


def test_mismatched_ids_are_listed(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, [f"x{i}" for i in range(15)])
    prot = _write(tmp_path, "p_4d", "protein", 4, [f"x{i}" for i in range(3)] + ["y"])
    with pytest.raises(ModelMismatchError) as info:
        read(dna, prot, "d_8d", "p_4d")
    text = str(info.value)
    assert "only in" in text and "x3" in text and "(and 2 more)" in text and "'y'" not in text
    assert f"only in {prot}: y" in text
    assert str(dna) in text and str(prot) in text


def test_reordered_ids_are_refused(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["b", "a"])
    with pytest.raises(ModelMismatchError, match="different order, first differing: a, b"):
        read(dna, prot, "d_8d", "p_4d")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_rows_are_named(tmp_path, bad, read):
    matrix = torch.zeros(3, 4)
    matrix[2, 2] = bad  # in the second block of two rows
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b", "c"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a", "b", "c"], matrix)
    with pytest.raises(ModelMismatchError, match=r"p_4d/shard_0000.safetensors: 1 row\(s\) .*: c$"):
        read(dna, prot, "d_8d", "p_4d")


def test_wrong_width_in_a_file_is_refused(tmp_path, read):
    """A file whose matrix is wider than its metadata says (written by hand: the writer
    refuses to make one) is refused from its header."""
    import json

    from safetensors.torch import save_file

    from virnucpro_smk.io.embedding_files import FORMAT

    path = tmp_path / "p_4d" / "shard_0000.safetensors"
    path.parent.mkdir()
    meta = {"model": "p_4d", "width": 4, "kind": "protein"}
    tensors = {
        "embeddings": torch.zeros(1, 5),
        "id_offsets": torch.tensor([0, 2]),
        "id_bytes": torch.tensor(list(b"a\n"), dtype=torch.uint8),
    }
    save_file(tensors, str(path), {"format": FORMAT, "meta": json.dumps(meta)})
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"])
    with pytest.raises(ModelMismatchError, match=r"metadata says width 4, matrix is \(1, 5\)"):
        read(dna, path, "d_8d", "p_4d")


def test_width_disagreeing_with_metadata_is_refused_by_merge_pair():
    dna = EmbeddingFile(["a"], torch.zeros(1, 8), _meta("d_8d", "dna", 8))
    prot = EmbeddingFile(["a"], torch.zeros(1, 5), _meta("p_4d", "protein", 4))
    with pytest.raises(ModelMismatchError, match=r"p: expected width 4 \(p_4d\), found 5"):
        merge_pair(dna, prot, "d", "p")


def test_chunk_lengths_and_kinds_must_agree(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"], chunk=300)
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"], chunk=500)
    with pytest.raises(ModelMismatchError, match="different chunk lengths"):
        read(dna, prot, "d_8d", "p_4d")
    with pytest.raises(ModelMismatchError, match="must hold DNA"):
        read(prot, dna, "p_4d", "d_8d")


def test_expected_chunk_length_is_enforced(tmp_path, read):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a"], chunk=300)
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a"], chunk=300)
    with pytest.raises(ModelMismatchError, match="expected chunk length 500, found 300"):
        read(dna, prot, "d_8d", "p_4d", chunk_length=500)


def test_a_truncated_shard_is_refused_when_read_in_blocks(tmp_path):
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b", "c"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a", "b", "c"])
    prot.write_bytes(prot.read_bytes()[:-8])  # a crash or a full disk cut the file short
    with pytest.raises(ModelMismatchError, match=r"truncated or padded \(\d+ bytes, its header"):
        _read_in_blocks(dna, prot, "d_8d", "p_4d")


def test_blocks_join_every_row_and_refuse_a_bad_value_in_a_later_block(tmp_path):
    ids = [f"s_chunk_{i}F1" for i in range(1, 8)]
    matrix = torch.randn(7, 4)
    dna = _write(tmp_path, "d_8d", "dna", 8, ids)
    prot = _write(tmp_path, "p_4d", "protein", 4, ids, matrix)
    expected = torch.cat([read_embeddings(dna).matrix, matrix], dim=1)
    assert torch.equal(_read_in_blocks(dna, prot, "d_8d", "p_4d", block_rows=3)[1], expected)
    matrix[5, 0] = math.inf  # in the second block of three
    prot = _write(tmp_path, "p_4d", "protein", 4, ids, matrix)
    with (
        FeatureBlocks(dna, prot, "d_8d", "p_4d") as shard,
        pytest.raises(ModelMismatchError, match=r"1 row\(s\) contain NaN or Inf: s_chunk_6F1$"),
    ):
        list(shard.blocks(block_rows=3))


def test_huge_finite_values_are_not_mistaken_for_inf(tmp_path, read):
    matrix = torch.full((3, 4), 3e38)  # their sum overflows float32; every value is finite
    dna = _write(tmp_path, "d_8d", "dna", 8, ["a", "b", "c"])
    prot = _write(tmp_path, "p_4d", "protein", 4, ["a", "b", "c"], matrix)
    assert torch.equal(read(dna, prot, "d_8d", "p_4d")[1][:, 8:], matrix)


# ---- DNA and protein files cut at different rows (each model's jobs sized by its cost) ----


def _cut(tmp_path, model, kind, width, ids, matrix, bounds):
    """One model's files of a frame set, cut at ``bounds`` (file i holds rows bounds[i])."""
    paths = []
    for i, (lo, hi) in enumerate(bounds):
        path = tmp_path / model / f"shard_{i:04d}.safetensors"
        write_embeddings(path, ids[lo:hi], matrix[lo:hi], _meta(model, kind, width, 300))
        paths.append(path)
    return paths


@pytest.fixture
def mismatched(tmp_path):
    """12 frames: DNA in 2 files (5 + 7 rows), protein in 4 (3, 1, 0 and 8 rows)."""
    ids = [f"s_chunk_{i}F1" for i in range(1, 13)]
    dna, prot = torch.randn(12, 6), torch.randn(12, 4)
    return {
        "ids": ids,
        "dna": dna,
        "prot": prot,
        "dna_files": _cut(tmp_path, "d_6d", "dna", 6, ids, dna, [(0, 5), (5, 12)]),
        "prot_files": _cut(
            tmp_path, "p_4d", "protein", 4, ids, prot, [(0, 3), (3, 4), (4, 4), (4, 12)]
        ),
    }


@pytest.mark.parametrize("block_rows", [1, 2, 100])
def test_files_cut_at_different_rows_join_row_by_row(mismatched, block_rows):
    with PairedFeatures(
        mismatched["dna_files"], mismatched["prot_files"], "d_6d", "p_4d", 300
    ) as frames:
        assert frames.meta["width"] == 10 and frames.meta["model"] == "d_6d+p_4d"
        parts = list(frames.blocks(block_rows))
    assert max(len(ids) for ids, _ in parts) <= block_rows
    # blocks end at every file boundary of either side: 3, 4, 5 and 12
    ends = [sum(len(ids) for ids, _ in parts[: k + 1]) for k in range(len(parts))]
    assert {3, 4, 5, 12} <= set(ends)
    assert [fid for ids, _ in parts for fid in ids] == mismatched["ids"]
    joined = torch.cat([m for _, m in parts])
    assert torch.equal(joined, torch.cat([mismatched["dna"], mismatched["prot"]], dim=1))


def test_a_row_out_of_step_across_files_is_named(mismatched, tmp_path):
    ids = list(mismatched["ids"])
    ids[6], ids[7] = ids[7], ids[6]  # inside the DNA's second file, the protein's last
    dna = _cut(tmp_path / "x", "d_6d", "dna", 6, ids, mismatched["dna"], [(0, 5), (5, 12)])
    with (
        PairedFeatures(dna, mismatched["prot_files"], "d_6d", "p_4d") as frames,
        pytest.raises(ModelMismatchError, match=r"shard_0001.safetensors \(row 1\) and .*"
                      r"shard_0003.safetensors \(row 2\) do not hold the same ids.*frame 6"),
    ):  # fmt: skip
        list(frames.blocks(100))


def test_sides_with_different_frame_counts_are_refused(mismatched):
    with (
        PairedFeatures(mismatched["dna_files"][:1], mismatched["prot_files"], "d_6d", "p_4d") as f,
        pytest.raises(ModelMismatchError, match="p_4d files hold more rows than the d_6d files"),
    ):
        list(f.blocks())


def test_a_later_file_of_another_model_run_is_refused(mismatched, tmp_path):
    ids, dna = mismatched["ids"], mismatched["dna"]
    other = tmp_path / "o" / "d_6d" / "shard_0001.safetensors"
    write_embeddings(other, ids[5:], dna[5:], _meta("d_6d", "dna", 6, 300, model_commit="c0ff"))
    files = [mismatched["dna_files"][0], other]
    with (
        PairedFeatures(files, mismatched["prot_files"], "d_6d", "p_4d") as frames,
        pytest.raises(ModelMismatchError, match="model_commit 'c0ff', but the first shard"),
    ):
        list(frames.blocks())


def test_rows_by_frame_number_span_files_cut_at_different_rows(mismatched, tmp_path):
    """Training reads any range of frames: the id walk checks the files, then ranges that
    cross the files' different cuts (3, 4, 5) read as the joined matrix's rows."""
    expected = torch.cat([mismatched["dna"], mismatched["prot"]], dim=1)
    with PairedFeatures(mismatched["dna_files"], mismatched["prot_files"], "d_6d", "p_4d") as f:
        assert [i for ids in f.id_blocks(100) for i in ids] == mismatched["ids"]
        rows = f.row_source()
    with rows:
        for start, end in ((0, 12), (2, 6), (4, 4), (3, 5), (11, 12)):
            assert torch.equal(rows.rows(start, end), expected[start:end]), (start, end)
    with (
        PairedFeatures(mismatched["dna_files"], mismatched["prot_files"], "d_6d", "p_4d") as f,
        pytest.raises(RuntimeError, match="finished walk"),
    ):
        f.row_source()  # the files are not checked yet


def test_rows_read_later_are_checked(mismatched):
    """A file replaced after the walk is refused; a NaN row is named by its file and row."""
    with PairedFeatures(mismatched["dna_files"], mismatched["prot_files"], "d_6d", "p_4d") as f:
        list(f.id_blocks())
        rows = f.row_source()
    ids, prot = mismatched["ids"], mismatched["prot"].clone()
    prot[9, 1] = float("nan")  # row 5 of the last protein file (rows 4-12)
    last = mismatched["prot_files"][3]
    write_embeddings(last, ids[4:], prot[4:], _meta("p_4d", "protein", 4, 300))
    with rows, pytest.raises(ModelMismatchError, match=r"shard_0003.safetensors: 1 row.*rows 5$"):
        rows.rows(8, 12)
    write_embeddings(last, ids[4:11], prot[4:11], _meta("p_4d", "protein", 4, 300))
    with rows, pytest.raises(ModelMismatchError, match="the file was replaced"):
        rows.rows(8, 12)
