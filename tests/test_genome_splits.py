"""Training set: split by source record, balance across host groups, only selected frames."""

import collections
import re

import pytest

from conftest import build_into, default_split
from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.frame_index import FRAME_INDEX
from virnucpro_smk.formats.manifest import MANIFEST
from virnucpro_smk.formats.training_table import label_value
from virnucpro_smk.preprocess.cds_frames import build_training_frames
from virnucpro_smk.preprocess.chunking import record_of
from virnucpro_smk.preprocess.genome_splits import (
    DatasetFrames,
    LabelledFrames,
    build_training_set,
    draw_manifest,
    frame_ids,
    split_records,
)


def _frames(name, group, label, n_records, frames_per_record):
    ids = [
        f"{name}{r}_chunk_{c}F{f}"
        for r in range(n_records)
        for c in range(1, frames_per_record // 3 + 2)
        for f in (1, 2, 3)
    ][: n_records * frames_per_record]
    return DatasetFrames(name, group, label, ids)


@pytest.fixture
def datasets():
    return [
        _frames("virus", "viral", 1, 30, 3),
        _frames("bact", "bacteria", 0, 50, 4),
        _frames("plant", "plant", 0, 10, 2),
        _frames("fungi", "fungi", 0, 25, 4),
    ]


def _genbank_frames(gbff, name, group, label, tmp_path, with_genomes=False) -> LabelledFrames:
    """Every kept frame of one GenBank file (the builder), as a labelled training dataset."""
    nuc, prot, genomes = (tmp_path / f"{name}.{ext}" for ext in ("fa", "faa", "genomes.tsv"))
    build_training_frames(
        gbff,
        300,
        fna=None,
        chunked=tmp_path / f"{name}.chunked",
        nucleotide=nuc,
        protein=prot,
        sequences=tmp_path / f"{name}.tsv",
        genomes=genomes if with_genomes else None,
    )
    return LabelledFrames(name, group, label, nuc, prot, genomes if with_genomes else None)


def test_record_of_strips_chunk_and_frame():
    assert record_of("NC_000866.4_chunk_12R3") == "NC_000866.4"
    assert record_of("a_chunk_b_chunk_1F1") == "a_chunk_b"


def test_hosts_are_balanced_evenly_across_groups(datasets):
    rows, summary = draw_manifest(datasets, default_split(seed=1))
    groups = collections.Counter(r.group for r in rows)
    assert groups["viral"] == 90
    assert groups["plant"] == 20  # all it has; the rest is spread over the others
    assert groups["bacteria"] == groups["fungi"] == 35
    available = {"bacteria": 200, "fungi": 100, "plant": 20, "viral": 90}
    assert summary["available_by_group"] == available
    assert summary["used_by_group"] == dict(sorted(groups.items()))


def _splits_by_input_record(rows, input_records) -> dict[str, set[str]]:
    """Oracle: the splits each *input* record's frames went to, from the frame ids alone.

    A frame id is ``<input record>_chunk_<n><F|R><1-3>``; each frame is matched against the
    records of the input files (known to the test), never through the manifest's ``record``
    column, the product's ``record_of`` or its ``records_shared_between_splits``.
    """
    splits: dict[str, set[str]] = collections.defaultdict(set)
    for row in rows:
        owners = [
            r
            for r in input_records
            if row.id.startswith(f"{r}_chunk_")
            and re.fullmatch(r"\d+[FR][123]", row.id[len(r) + 7 :])
        ]
        assert len(owners) == 1, f"{row.id}: not a frame of exactly one input record"
        splits[owners[0]].add(row.split)
    return splits


def test_no_record_lies_in_two_splits():
    # input records whose own ids contain "_chunk_" (legal sequence ids) and share prefixes
    records = {
        "viral": [f"vir{r}" for r in range(12)] + [f"vir_chunk_{r}" for r in range(12)],
        "bacteria": [f"bact{r}" for r in range(20)] + ["bact1_chunk_2"],
        "fungi": [f"fun{r}" for r in range(15)],
    }
    datasets = [
        DatasetFrames(
            group,
            group,
            int(group == "viral"),
            [f"{rec}_chunk_{c}{s}" for rec in recs for c in (1, 2, 11) for s in ("F1", "R3")],
        )
        for group, recs in records.items()
    ]
    every_record = [r for recs in records.values() for r in recs]
    for seed in range(5):
        rows, _ = draw_manifest(
            datasets, default_split(seed=seed, val_fraction=0.2, test_fraction=0.2)
        )
        splits = _splits_by_input_record(rows, every_record)
        shared = {r: s for r, s in splits.items() if len(s) > 1}
        assert shared == {}, f"seed {seed}: records in two splits"
        for split in ("train", "val", "test"):
            assert {r.label for r in rows if r.split == split} == {0, 1}


def test_split_follows_the_frame_fractions_and_the_seed():
    counts = {f"r{i}": 10 for i in range(100)}
    import random

    a = split_records(counts, random.Random(3), 0.1, 0.2)
    b = split_records(counts, random.Random(3), 0.1, 0.2)
    c = split_records(counts, random.Random(4), 0.1, 0.2)
    assert a == b != c
    tally = collections.Counter(a.values())
    assert tally == {"train": 70, "val": 10, "test": 20}
    assert split_records({"only": 5}, random.Random(0), 0.1, 0.1) == {"only": "train"}


def test_too_few_records_is_a_clear_error():
    tiny = [_frames("v", "viral", 1, 1, 30), _frames("h", "host", 0, 5, 6)]
    with pytest.raises(InputError, match="at least three input genomes"):
        draw_manifest(tiny, default_split())


def test_needs_both_classes_unique_ids_and_records():
    with pytest.raises(InputError, match="viral and one non-viral"):
        draw_manifest([_frames("v", "viral", 1, 5, 3)], default_split())
    twin = _frames("v", "viral", 1, 5, 3)
    with pytest.raises(InputError, match="occurs in datasets"):
        draw_manifest([twin, DatasetFrames("copy", "host", 0, twin.ids)], default_split())
    other = DatasetFrames("copy", "host", 0, [twin.ids[0][:-2] + "R1"])
    with pytest.raises(InputError, match="must belong to one dataset"):
        draw_manifest([twin, other], default_split())


def test_labels():
    assert label_value("viral") == 1 and label_value(" Host ") == 0 and label_value("0") == 0
    with pytest.raises(ValueError, match="is not viral or nonviral"):
        label_value("maybe")


def _write_dataset(tmp_path, ds):
    nuc, prot = tmp_path / f"{ds.dataset}.fa", tmp_path / f"{ds.dataset}.faa"
    nuc.write_text("".join(f">{i}\nACGT{k}\n" for k, i in enumerate(ds.ids)))
    prot.write_text("".join(f">{i}\nMK{k}\n" for k, i in enumerate(ds.ids)))
    return LabelledFrames(ds.dataset, ds.group, ds.label, nuc, prot)


def test_only_selected_frames_are_written_in_manifest_order(datasets, tmp_path):
    files = [_write_dataset(tmp_path, ds) for ds in datasets]
    out = {k: tmp_path / "out" / k for k in ("m.tsv", "m.json", "n.fa", "p.faa", "s.tsv")}
    info = build_into(
        files,
        out["m.tsv"].parent,
        n_shards=3,
        seed=2,
    )
    rows = MANIFEST.read_all(out["m.tsv"])
    assert frame_ids(out["n.fa"]) == frame_ids(out["p.faa"]) == [r.id for r in rows]
    assert len(rows) == info["frames"] == 180  # 90 viral + 90 of 320 host frames
    spans = FRAME_INDEX.read_all(out["s.tsv"])
    assert [s.n_records for s in spans] == [60, 60, 60]
    assert [r.shard for r in rows] == [0] * 60 + [1] * 60 + [2] * 60
    # each written record is the dataset's own line for that id
    source = {}
    for f in files:
        lines = f.protein.read_text().splitlines()
        source.update(zip(lines[::2], lines[1::2], strict=True))
    written = out["p.faa"].read_text().splitlines()
    assert all(source[h] == s for h, s in zip(written[::2], written[1::2], strict=True))
    again = tmp_path / "again.tsv"
    build_training_set(
        files,
        manifest=again,
        summary=tmp_path / "again.json",
        nucleotide=tmp_path / "n2.fa",
        protein=tmp_path / "p2.faa",
        frame_index=tmp_path / "s2.tsv",
        n_shards=3,
        settings=default_split(seed=2),
    )
    assert again.read_bytes() == out["m.tsv"].read_bytes()


def test_genbank_training_set_is_record_disjoint(shared_data, tmp_path):
    """The shared GenBank genomes plus DeepVirFinder fragments: every record in one split."""
    gb = shared_data / "genbank"
    sources = [
        ("t4", "viral", 1, gb / "NC_000866_phage_T4.gbff"),
        ("phix", "viral", 1, gb / "NC_001422_phiX174.gbk"),
        ("ppcp1", "bacteria", 0, gb / "NC_005816_Yersinia_pestis_plasmid_pPCP1.gb"),
        ("chloroplast", "plant", 0, gb / "NC_000932_Arabidopsis_chloroplast.gb"),
    ]
    files = []
    for name, group, label, path in sources:
        files.append(_genbank_frames(path, name, group, label, tmp_path))
    from virnucpro_smk.preprocess.sample import preprocess_fasta

    for name, group, label, fasta in (
        ("dvf_virus", "viral", 1, shared_data / "dvf_virus_val.fa"),
        ("dvf_host", "bacteria", 0, shared_data / "dvf_host_val.fa"),
    ):
        nuc, prot = tmp_path / f"{name}.fa", tmp_path / f"{name}.faa"
        preprocess_fasta(fasta, 300, tmp_path / f"{name}.ck", nuc, prot, tmp_path / f"{name}.tsv")
        files.append(LabelledFrames(name, group, label, nuc, prot))
    info = build_into(
        files,
        tmp_path,
    )
    rows = MANIFEST.read_all(tmp_path / "m.tsv")
    # the input records, read from the files here (GenBank VERSION lines, FASTA headers)
    input_records = [
        line.split()[1]
        for _, _, _, path in sources
        for line in path.read_text().splitlines()
        if line.startswith("VERSION")
    ] + [
        line[1:].split()[0]
        for name in ("dvf_virus_val.fa", "dvf_host_val.fa")
        for line in (shared_data / name).read_text().splitlines()
        if line.startswith(">")
    ]
    splits = _splits_by_input_record(rows, input_records)
    assert all(len(s) == 1 for s in splits.values()), "a record straddles two splits"
    assert {"NC_000866.4", "NC_001422.1"} <= set(splits)  # both phage genomes are used
    assert info["available_by_group"]["viral"] == 291 + sum(
        1 for _ in open(tmp_path / "dvf_virus.fa") if _.startswith(">")
    ) + len(frame_ids(tmp_path / "phix.fa"))
    assert info["used_by_group"]["viral"] == info["available_by_group"]["viral"]


# --------------------------------------------------------------------------- genome keys


def _multi_record_gbff(source, accession, prefix, path, genomes, records_per_genome, lone):
    """Copies of one GenBank record under new accessions (``prefix`` + 6 digits, as long as
    the original's, so the LOCUS columns stay put): ``genomes`` assemblies of
    ``records_per_genome`` records each (linked by ``DBLINK  Assembly:``), and ``lone`` records
    without an assembly link (each its own genome)."""
    text = source.read_text()
    version = next(line for line in text.splitlines() if line.startswith("VERSION"))
    blocks = []
    for g in range(genomes + lone):
        for k in range(records_per_genome if g < genomes else 1):
            block = text.replace(accession, f"{prefix}{g:03d}{k:03d}")
            if g < genomes:
                link = (
                    f"DBLINK      BioProject: PRJNA1\n            Assembly: GCF_{prefix}{g:06d}.1\n"
                )
                new_version = version.replace(accession, f"{prefix}{g:03d}{k:03d}")
                block = block.replace(new_version + "\n", new_version + "\n" + link, 1)
            blocks.append(block)
    path.write_text("".join(blocks))
    return path


def _oracle_genomes(path, fmt, key):
    """record id -> genome, recomputed from the input records with Biopython."""
    from Bio import SeqIO

    return {rec.id: key(rec) for rec in SeqIO.parse(str(path), fmt)}


def _assembly_or_id(rec):
    links = [x.split(":", 1)[1] for x in rec.dbxrefs if x.startswith("Assembly:")]
    return links[0] if links else rec.id


def _splits_per_genome(rows, genome_of):
    splits = collections.defaultdict(set)
    for r in rows:
        splits[genome_of[record_of(r.id)]].add(r.split)
    return splits


def test_a_multi_record_genbank_genome_never_straddles_splits(shared_data, tmp_path):
    gb = shared_data / "genbank"
    inputs = [
        ("phage", "viral", 1, gb / "NC_001422_phiX174.gbk", "NC_001422", "PH_", 12, 3, 3),
        (
            "plasmid",
            "bacteria",
            0,
            gb / "NC_005816_Yersinia_pestis_plasmid_pPCP1.gb",
            "NC_005816",
            "PL_",
            12,
            2,
            3,
        ),
    ]
    files, oracle = [], {}
    for name, group, label, source, accession, prefix, n_genomes, per, lone in inputs:
        gbff = _multi_record_gbff(
            source, accession, prefix, tmp_path / f"{name}.gbff", n_genomes, per, lone
        )
        oracle.update(_oracle_genomes(gbff, "genbank", _assembly_or_id))
        files.append(_genbank_frames(gbff, name, group, label, tmp_path, with_genomes=True))
    info = build_into(
        files,
        tmp_path,
        val_fraction=0.2,
        test_fraction=0.25,
        seed=3,
    )
    rows = MANIFEST.read_all(tmp_path / "m.tsv")
    splits = _splits_per_genome(rows, oracle)
    assert all(len(s) == 1 for s in splits.values()), {
        g: s for g, s in splits.items() if len(s) > 1
    }
    multi = {g for g in splits if sum(v == g for v in oracle.values()) > 1}
    assert {next(iter(splits[g])) for g in multi} == {"train", "val", "test"}
    assert info["genomes_shared_between_splits"] == {"train-val": 0, "train-test": 0, "val-test": 0}
    assert (
        info["split_by"].startswith("cluster") and info["multi_record_genomes"] == len(multi) == 24
    )


def test_a_multi_record_fasta_genome_never_straddles_splits(shared_data, tmp_path):
    """DeepVirFinder's fragments (``ACC#3k#start#end``) of one genome, kept together through
    the training table's genome map."""
    from virnucpro_smk.preprocess.genomes import write_genome_map
    from virnucpro_smk.preprocess.sample import preprocess_fasta

    def accession(rec):
        return rec.id.split("#")[0]

    files, oracle = [], {}
    for name, group, label, fasta in (
        ("dvf_virus", "viral", 1, shared_data / "dvf_virus_val.fa"),
        ("dvf_host", "bacteria", 0, shared_data / "dvf_host_val.fa"),
    ):
        by_genome = _oracle_genomes(fasta, "fasta", accession)
        oracle.update(by_genome)
        genome_map = tmp_path / f"{name}.genomes.tsv"
        write_genome_map({r: r.split("#")[0] for r in by_genome}, genome_map)
        nuc, prot = tmp_path / f"{name}.fa", tmp_path / f"{name}.faa"
        preprocess_fasta(fasta, 300, tmp_path / f"{name}.ck", nuc, prot, tmp_path / f"{name}.tsv")
        files.append(LabelledFrames(name, group, label, nuc, prot, genome_map))
    info = build_into(
        files,
        tmp_path,
        val_fraction=0.2,
        test_fraction=0.2,
    )
    splits = _splits_per_genome(MANIFEST.read_all(tmp_path / "m.tsv"), oracle)
    assert all(len(s) == 1 for s in splits.values()), {
        g: s for g, s in splits.items() if len(s) > 1
    }
    assert info["multi_record_genomes"] >= 10
    assert set(info["genomes_shared_between_splits"].values()) == {0}


def test_one_genome_in_two_groups_is_refused():
    a = DatasetFrames("a", "viral", 1, ["r1_chunk_1F1"], {"r1": "G"})
    b = DatasetFrames("b", "host", 0, ["r2_chunk_1F1"], {"r2": "G"})
    with pytest.raises(InputError, match="genome or cluster 'G' has records in two groups"):
        draw_manifest([a, b], default_split())
