"""Training-mode builder: byte parity with the original, streaming input, substring index,
the light GenBank/FASTA readers against Biopython, and thread-independent output."""

import gzip
import io
import json
import random
import shutil
import warnings

import pytest
from Bio import SeqIO

from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess.cds_frames import (
    ProteinIndex,
    _fasta_records,
    _split_records,
    build_training_frames,
    iter_genbank_blocks,
    iter_genomes,
    parse_genbank,
)

GENOMES = {
    "NC_000866_phage_T4": "NC_000866_phage_T4.gbff",
    "NC_001422_phiX174": "NC_001422_phiX174.gbk",
}
ALL_GENBANK = [
    "NC_000866_phage_T4.gbff",
    "NC_000932_Arabidopsis_chloroplast.gb",
    "NC_001422_phiX174.gbk",
    "NC_005816_Yersinia_pestis_plasmid_pPCP1.gb",
]


def cds_translations(record) -> list[str]:
    """The /translation of each CDS of a Biopython record, in feature order ("" where absent):
    the reference the light GenBank reader is tested against."""
    return [f.qualifiers.get("translation", [""])[0] for f in record.features if f.type == "CDS"]


def _outputs(directory):
    """build_training_frames' four output files in ``directory``, keyed by its argument names."""
    return {k: directory / k for k in ("chunked", "nucleotide", "protein", "sequences")}


def _build(gbff, L, tmp_path, fna=None):
    out = {**_outputs(tmp_path), "frame_index": tmp_path / "shards"}
    stats = build_training_frames(gbff, L, fna=fna, **out, n_shards=3)
    return stats, out


@pytest.mark.parametrize("with_fasta", [True, False])
@pytest.mark.parametrize("L", [300, 500])
@pytest.mark.parametrize("name", sorted(GENOMES))
def test_builder_matches_original_bytes(name, L, with_fasta, shared_data, reference, tmp_path):
    gbff = shared_data / "genbank" / GENOMES[name]
    fna = shared_data / "genbank" / "derived_fasta" / f"{name}.fna" if with_fasta else None
    _stats, out = _build(gbff, L, tmp_path, fna)
    ref = reference / "train_builder"
    pairs = {
        "chunked": f"{name}_genomic.chunk{L}.fna.gz",
        "nucleotide": f"{name}_chunk{L}_identified_nucleotide.fa.gz",
        "protein": f"{name}_chunk{L}_identified_protein.fa.gz",
    }
    for key, ref_name in pairs.items():
        with gzip.open(ref / ref_name) as handle:
            assert out[key].read_bytes() == handle.read(), f"{key} differs from {ref_name}"


def test_cds_lists_match_the_original(shared_data, reference):
    for name, file in GENOMES.items():
        expected = json.loads(
            (reference / "train_builder" / f"{name}_refseq_pro_list.json").read_text()
        )
        with open(shared_data / "genbank" / file) as handle:
            got = {rec.id: cds_translations(rec) for rec in SeqIO.parse(handle, "genbank")}
        assert got == expected
        light = [parse_genbank(b) for b in iter_genbank_blocks(shared_data / "genbank" / file)]
        assert {r.id: r.translations for r in light} == expected


def test_streams_gzip_inputs_without_decompressing_to_disk(shared_data, tmp_path):
    src = shared_data / "genbank"
    gbff, fna = tmp_path / "t4.gbff.gz", tmp_path / "t4.fna.gz"
    with open(src / "NC_000866_phage_T4.gbff", "rb") as a, gzip.open(gbff, "wb") as b:
        shutil.copyfileobj(a, b)
    with open(src / "derived_fasta/NC_000866_phage_T4.fna", "rb") as a, gzip.open(fna, "wb") as b:
        shutil.copyfileobj(a, b)
    before = set(tmp_path.iterdir())
    stats, out = _build(gbff, 300, tmp_path / "o", fna)
    assert stats.frames == 291 and stats.chunks == 564
    assert set(tmp_path.iterdir()) - before == {tmp_path / "o"}
    lines = out["frame_index"].read_text().splitlines()
    assert len(lines) == 4  # header + 3 shards


def test_mismatched_fasta_and_genbank_are_refused(shared_data, tmp_path):
    gb = shared_data / "genbank"
    with pytest.raises(InputError, match="same records in the same order"):
        list(
            iter_genomes(gb / "NC_000866_phage_T4.gbff", gb / "derived_fasta/NC_001422_phiX174.fna")
        )
    two = tmp_path / "two.fna"
    phix = (gb / "derived_fasta/NC_001422_phiX174.fna").read_text()
    two.write_text(phix + phix.replace(">NC_001422.1", ">extra"))
    with pytest.raises(InputError, match="different numbers of records"):
        list(iter_genomes(gb / "NC_001422_phiX174.gbk", two))


def test_protein_index_agrees_with_a_linear_scan():
    rng = random.Random(2)
    proteins = [
        "".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=rng.randint(0, 300))) for _ in range(50)
    ]
    index = ProteinIndex(proteins)
    queries = [p[i : i + n] for p in proteins if p for i, n in ((3, 40), (0, 2), (10, 7))]
    queries += ["".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=30)) for _ in range(50)]
    for q in queries:
        assert index.contains(q) == any(q in p for p in proteins)


def _biopython(text: str) -> list[tuple[str, str, list[str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = list(SeqIO.parse(io.StringIO(text), "genbank"))
    return [(r.id, str(r.seq).upper(), cds_translations(r)) for r in records]


def _light(data: bytes) -> list[tuple[str, str, list[str]]]:
    records = [parse_genbank(b) for b in _split_records(io.BytesIO(data), b"LOCUS")]
    return [(r.id, r.seq, r.translations) for r in records]


@pytest.mark.parametrize("file", ALL_GENBANK)
def test_light_genbank_reader_agrees_with_biopython(file, shared_data):
    data = (shared_data / "genbank" / file).read_bytes()
    assert _light(data) == _biopython(data.decode())


# Layout corner cases Biopython has rules for: id without VERSION (ACCESSION, then LOCUS),
# VERSION without a numeric suffix, CRLF, a wrapped location, a quoted /note whose
# continuation line starts with "/translation=", a CDS without translation, two
# translations (the first counts), escaped quotes, a 21-column key line with no location.
_ODD_RECORDS = '''\
LOCUS       ONLY_LOCUS               12 bp    DNA     linear   UNK 01-JAN-2000
FEATURES             Location/Qualifiers
     CDS             join(1..3,
                     4..12)
                     /note="a note that wraps and whose next line looks like
                     /translation="WRONG" but is part of the note"
                     /translation="MKV
                     LLA"
     gene            1..12
                     /translation="NOTCDS"
     CDS             1..12
                     /product="no translation here"
     CDS             1..12
                     /translation="FIRST"
                     /translation="SECOND"
     CDS             1..12
                     /note="He said ""hi"""
                     /translation= "SPACED"
     CDS
                     /translation="ORPHAN"
ORIGIN
        1 acgtacgtac gt
//
LOCUS       LOC2                     8 bp    DNA     linear   UNK 01-JAN-2000
ACCESSION   AB000001 AB000002;
            AB000003
VERSION     AB000001.7  GI:1
FEATURES             Location/Qualifiers
     CDS             1..8
                     /translation="MW"
ORIGIN
        1 aaaacccc
//
LOCUS       LOC3                     4 bp    DNA     linear   UNK 01-JAN-2000
ACCESSION   CD000001
VERSION     CD000001
ORIGIN
        1 ggtt
//
'''


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_light_genbank_reader_follows_biopython_on_odd_layouts(newline):
    text = _ODD_RECORDS.replace("\n", newline)
    expected = _biopython(_ODD_RECORDS)
    assert [r[0] for r in expected] == ["ONLY_LOCUS", "AB000001.7", "CD000001"]
    assert expected[0][2] == ["MKVLLA", "", "FIRST", "SPACED"]
    assert _light(text.encode()) == expected


def test_record_splitting_does_not_depend_on_read_size(shared_data):
    small = [f for f in ALL_GENBANK if "phiX" in f or "pPCP1" in f]
    for files, sizes in ((small, (1, 5, 64)), (ALL_GENBANK, (4096,))):
        data = b"release header\n" + b"".join(
            (shared_data / "genbank" / f).read_bytes() for f in files
        )
        whole = list(_split_records(io.BytesIO(data), b"LOCUS"))
        assert len(whole) == len(files) and all(b.startswith(b"LOCUS") for b in whole)
        assert b"".join(whole) == data[data.index(b"LOCUS") :]
        for size in sizes:
            assert list(_split_records(io.BytesIO(data), b"LOCUS", read_size=size)) == whole


def test_fasta_reader_agrees_with_biopython(tmp_path):
    text = ">a desc\nacg t\r\nNNtt \n>b\n\n>c\tx\nAC\tG\t\nTT\n>\nGG\n"
    path = tmp_path / "x.fa.gz"
    with gzip.open(path, "wt", newline="") as handle:
        handle.write(text)
    expected = [(r.id, str(r.seq).upper()) for r in SeqIO.parse(io.StringIO(text), "fasta")]
    assert list(_fasta_records(path)) == expected
    # Biopython refuses text before the first header (the original would crash): so do we.
    path.write_text("junk\n" + text)
    with pytest.raises(InputError, match="before the first"):
        list(_fasta_records(path))


def test_truncated_genbank_is_refused(shared_data, tmp_path):
    data = (shared_data / "genbank" / "NC_001422_phiX174.gbk").read_bytes()
    cut = tmp_path / "cut.gbk"
    cut.write_bytes(data[: data.rfind(b"//")])
    with pytest.raises(InputError, match="no closing '//'"):
        list(iter_genbank_blocks(cut))
    gz = tmp_path / "cut.gbk.gz"
    gz.write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(InputError, match="truncated"):
        list(iter_genbank_blocks(gz))


def _multi_record(shared_data, tmp_path, copies: int = 1):
    """Every shared GenBank file ``copies`` times with renamed accessions, gzip, with FASTA."""
    gb_parts, fa_parts = [], []
    for copy in range(copies):
        tag = f"Z{copy:02d}".encode()
        for file in ALL_GENBANK:
            stem = file.rsplit(".", 1)[0]
            gb = (shared_data / "genbank" / file).read_bytes()
            lines = gb.splitlines(keepends=True)
            gb_parts += [
                line.replace(b"NC_", tag)
                if line.startswith((b"LOCUS", b"ACCESSION", b"VERSION"))
                else line
                for line in lines
            ]
            fa = (shared_data / "genbank" / "derived_fasta" / f"{stem}.fna").read_bytes()
            fa_parts.append(fa.replace(b">NC_", b">" + tag))
    gbff, fna = tmp_path / "multi.gbff.gz", tmp_path / "multi.fna.gz"
    gbff.write_bytes(gzip.compress(b"".join(gb_parts)))
    fna.write_bytes(gzip.compress(b"".join(fa_parts)))
    return gbff, fna


@pytest.mark.parametrize("with_fasta", [True, False])
def test_threads_do_not_change_the_output(with_fasta, shared_data, tmp_path):
    gbff, fna = _multi_record(shared_data, tmp_path)
    outputs = {}
    for threads in (1, 2):
        out = _outputs(tmp_path / f"t{threads}")
        fasta = fna if with_fasta else None
        stats = build_training_frames(gbff, 300, fna=fasta, **out, threads=threads)
        outputs[threads] = (stats, {k: p.read_bytes() for k, p in out.items()})
        assert sorted(p.name for p in (tmp_path / f"t{threads}").iterdir()) == sorted(out)
    assert outputs[1] == outputs[2]
    stats, files = outputs[1]
    assert stats.sequences == 4
    ids = [line.split("\t")[0] for line in files["sequences"].decode().splitlines()[1:]]
    assert ids == [
        f"Z{c:02d}{a}" for c in range(1) for a in ("000866.4", "000932.1", "001422.1", "005816.1")
    ]
    # The per-record output is the single-genome output, records in input order.
    single = _outputs(tmp_path / "single")
    build_training_frames(
        shared_data / "genbank" / "NC_001422_phiX174.gbk", 300, fna=None, **single
    )
    renamed = single["nucleotide"].read_bytes().replace(b">NC_", b">Z00")
    assert renamed in files["nucleotide"]


def test_protein_index_short_queries_repeats_and_boundaries():
    proteins = ["A" * 100, "MKVLLAGHHHHH", "", "QWERTYIPASDFGHKLCVNM" * 3]
    index = ProteinIndex(proteins, k=4, step=5)
    assert index.contains("A" * 60) and index.contains("A" * 100)
    assert not index.contains("A" * 101)
    assert index.contains("MKV") and index.contains("HHHHH") and not index.contains("HHHHHH")
    # never across two proteins
    assert not index.contains("HHHHHQWERTY") and not index.contains("AAAAMKV")
    assert not index.contains("")
    rng = random.Random(5)
    joined = "".join(proteins)
    for _ in range(300):
        i = rng.randrange(len(joined))
        q = joined[i : i + rng.randint(1, 40)]
        assert index.contains(q) == any(q in p for p in proteins), q


def test_a_worker_error_reaches_the_caller_and_leaves_no_output(shared_data, tmp_path):
    gbff, fna = _multi_record(shared_data, tmp_path)
    parts = gzip.decompress(fna.read_bytes()).decode()[1:].split("\n>")
    swapped = tmp_path / "swapped.fna"  # first two records swapped: the pool finds it
    swapped.write_text(">" + "\n>".join([parts[1], parts[0], *parts[2:]]))
    out = tmp_path / "out"
    with pytest.raises(InputError, match="same records in the same order"):
        build_training_frames(gbff, 300, fna=swapped, **_outputs(out), threads=2)
    assert list(out.iterdir()) == []


def test_genome_key_is_the_dblink_assembly():
    """Records of one assembly (DBLINK Assembly:) share a genome key; BioProject is no key."""
    from virnucpro_smk.preprocess.cds_frames import _read_record

    def block(acc, dblink):
        return (
            f"LOCUS       {acc}               12 bp    DNA     linear   BCT 01-JAN-2020\n"
            f"ACCESSION   {acc}\nVERSION     {acc}.1\n{dblink}"
            "FEATURES             Location/Qualifiers\n"
            "ORIGIN      \n        1 acgtacgtac gt\n//\n"
        ).encode()

    linked = "DBLINK      BioProject: PRJNA224116\n            Assembly: GCF_000009065.1\n"
    chromosome = parse_genbank(block("NC_000001", linked))
    plasmid = parse_genbank(block("NC_000002", linked))
    assert chromosome.assembly == plasmid.assembly == "GCF_000009065.1"
    unlinked = block("NC_000003", "DBLINK      BioProject: PRJNA224116\n")
    assert parse_genbank(unlinked).assembly == ""
    assert _read_record(unlinked, None, "x.gbff", None)[3] == "NC_000003.1"  # its own genome
    assert _read_record(block("NC_000002", linked), None, "x.gbff", None)[3] == "GCF_000009065.1"


@pytest.mark.parametrize(
    "file",
    [
        "NC_000866_phage_T4.gbff",
        "NC_001422_phiX174.gbk",
        "NC_005816_Yersinia_pestis_plasmid_pPCP1.gb",
        "NC_000932_Arabidopsis_chloroplast.gb",
    ],
)
def test_taxon_is_the_lowest_one_word_rank_of_biopythons_lineage(file, shared_data, tmp_path):
    """The taxon the comparison's new-taxa section groups by (usually the genus), checked
    against Biopython's reading of the lineage; the builder writes it into genomes.tsv."""
    from virnucpro_smk.preprocess.genomes import read_genome_table

    path = shared_data / "genbank" / file
    with open(path) as handle:
        (record,) = SeqIO.parse(handle, "genbank")
    lineage = record.annotations["taxonomy"]
    expected = next(t for t in reversed(lineage) if " " not in t)
    (block,) = list(iter_genbank_blocks(path))
    assert parse_genbank(block, sequence=False).taxon == expected
    out = tmp_path / "out"
    build_training_frames(path, 300, fna=None, **_outputs(out), genomes=out / "genomes.tsv")
    assert read_genome_table(out / "genomes.tsv")[1] == {record.id: expected}
