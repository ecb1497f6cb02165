"""Training manifest: balance across host groups, seeded split, determinism, hash."""

import collections

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess import index_shards, write_shard_index
from virnucpro_smk.training_set import LabelledFrames, build_manifest, parse_label, read_manifest


def _dataset(tmp_path, name, group, label, n, n_shards=2):
    nuc = tmp_path / f"{name}.fa"
    prot = tmp_path / f"{name}.faa"
    nuc.write_text("".join(f">{name}_{i}_chunk_1F1\nACGTACG\n" for i in range(n)))
    prot.write_text("".join(f">{name}_{i}_chunk_1F1\nTY\n" for i in range(n)))
    index = tmp_path / f"{name}.shards.tsv"
    write_shard_index(index_shards(nuc, prot, n, n_shards), index)
    return LabelledFrames(name, group, label, nuc, index)


@pytest.fixture
def datasets(tmp_path):
    return [
        _dataset(tmp_path, "virus", "viral", 1, 90),
        _dataset(tmp_path, "bact", "bacteria", 0, 200),
        _dataset(tmp_path, "plant", "plant", 0, 20),
        _dataset(tmp_path, "fungi", "fungi", 0, 100),
    ]


def test_hosts_are_balanced_evenly_across_groups(datasets, tmp_path):
    summary = build_manifest(datasets, tmp_path / "m.tsv", seed=1)
    rows = read_manifest(tmp_path / "m.tsv")
    groups = collections.Counter(r["group"] for r in rows)
    assert groups["viral"] == 90
    assert sum(v for g, v in groups.items() if g != "viral") == 90
    assert groups["plant"] == 20  # all it has; the rest spread over the others
    assert groups["bacteria"] == groups["fungi"] == 35
    assert summary["viral"] == summary["nonviral"] == 90


def test_split_is_stratified_and_deterministic(datasets, tmp_path):
    a = build_manifest(datasets, tmp_path / "a.tsv", seed=3)
    b = build_manifest(datasets, tmp_path / "b.tsv", seed=3)
    c = build_manifest(datasets, tmp_path / "c.tsv", seed=4)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert a["sha256"] == b["sha256"] != c["sha256"]
    rows = read_manifest(tmp_path / "a.tsv")
    for group in ("viral", "bacteria"):
        in_group = [r for r in rows if r["group"] == group]
        test = sum(r["split"] == "test" for r in in_group)
        assert test == round(0.1 * len(in_group))
    shards = {r["id"]: r["shard"] for r in rows}
    assert shards["virus_0_chunk_1F1"] == 0 and shards["virus_89_chunk_1F1"] == 1


def test_needs_both_classes_and_unique_ids(tmp_path):
    with pytest.raises(InputError, match="viral and one non-viral"):
        build_manifest([_dataset(tmp_path, "virus", "viral", 1, 5)], tmp_path / "m.tsv")
    twin = _dataset(tmp_path / ".." / tmp_path.name, "virus", "viral", 1, 5)
    with pytest.raises(InputError, match="occurs in datasets"):
        build_manifest(
            [twin, LabelledFrames("copy", "host", 0, twin.frames, twin.shard_index)],
            tmp_path / "m.tsv",
        )


def test_labels():
    assert parse_label("viral", "x") == 1 and parse_label("0", "x") == 0
    with pytest.raises(InputError, match="label must be"):
        parse_label("maybe", "x")
