"""Six-frame translation and stop-free frame selection, as preprocessing runs and writes it.

The oracle translates with Biopython's ``Seq.translate`` (standard code) one frame at a time
and applies the original VirNucPro's rules written out here: frames F1-F3 then R1-R3, a frame
with a stop is dropped, an empty translation is not written, the kept nucleotide is
``strand[offset : offset + 3 * len(protein) + 1]`` cut at the chunk end, the reverse strand
complements A/C/G/T only, and a codon with another code is dropped (``drop``) or becomes X.
"""

from __future__ import annotations

import random

import pytest
from Bio import SeqIO
from Bio.Seq import Seq

from virnucpro_smk.io.fasta import read_simple_fasta
from virnucpro_smk.preprocess.chunking import chunk_spans
from virnucpro_smk.preprocess.frames import translate_chunk, translate_record
from virnucpro_smk.preprocess.sample import preprocess_fasta

ACGT = set("ACGT")


def original_reverse_complement(seq: str) -> str:
    """Biopython's reverse complement, except that IUPAC codes stay as they are (the original)."""
    bio = str(Seq(seq).reverse_complement())
    return "".join(b if b in ACGT else o for b, o in zip(bio, reversed(seq), strict=True))


def oracle_protein(strand: str, offset: int, ambiguous: str) -> str:
    codons = [strand[i : i + 3] for i in range(offset, len(strand) - 2, 3)]
    if all(set(c) <= ACGT for c in codons):
        return str(Seq("".join(codons)).translate())
    other = "X" if ambiguous == "x" else ""
    return "".join(str(Seq(c).translate()) if set(c) <= ACGT else other for c in codons)


def oracle_frames(chunk: str, ambiguous: str = "drop") -> list[tuple[str, str, str]]:
    """(frame name, kept nucleotide, protein) of the stop-free frames of one chunk, in order."""
    kept = []
    for strand_name, strand in (("F", chunk), ("R", original_reverse_complement(chunk))):
        for offset in range(3):
            protein = oracle_protein(strand, offset, ambiguous)
            if protein and "*" not in protein:
                nucleotide = strand[offset : offset + 3 * len(protein) + 1]
                kept.append((f"{strand_name}{offset + 1}", nucleotide, protein))
    return kept


def oracle_record(record_id, seq, chunk_length, ambiguous="drop"):
    """What translate_record must yield: chunk spans from chunking (tested on its own)."""
    out = []
    for number, (start, end) in enumerate(chunk_spans(len(seq), chunk_length), start=1):
        cid = f"{record_id}_chunk_{number}"
        chunk = seq[start:end]
        frames = [(cid + name, nt, p) for name, nt, p in oracle_frames(chunk, ambiguous)]
        out.append((cid, chunk, frames))
    return out


def translated(record_id, seq, chunk_length, ambiguous="drop", keep=None):
    return [
        (cid, chunk, [(f.id, f.nucleotide, f.protein) for f in frames])
        for cid, chunk, frames in translate_record(record_id, seq, chunk_length, ambiguous, keep)
    ]


# --------------------------------------------------------------------------- worked by hand


def test_six_frames_of_a_known_sequence():
    """All six frames of a stop-free 12-mer (reverse complement CCCTTTGGCCAT), worked by hand."""
    ((cid, chunk, frames),) = translated("s", "ATGGCCAAAGGG", 300)
    assert (cid, chunk) == ("s_chunk_1", "ATGGCCAAAGGG")
    assert frames == [
        ("s_chunk_1F1", "ATGGCCAAAGGG", "MAKG"),
        ("s_chunk_1F2", "TGGCCAAAGG", "WPK"),
        ("s_chunk_1F3", "GGCCAAAGGG", "GQR"),
        ("s_chunk_1R1", "CCCTTTGGCCAT", "PFGH"),
        ("s_chunk_1R2", "CCTTTGGCCA", "PLA"),
        ("s_chunk_1R3", "CTTTGGCCAT", "LWP"),
    ]


def test_a_frame_with_a_stop_is_not_kept():
    """ATG TAA ...: F1 holds a stop and is dropped; the five others are kept (worked by hand)."""
    ((_, _, frames),) = translated("s", "ATGTAAATGGCCAAAGGG", 300)
    assert frames == [
        ("s_chunk_1F2", "TGTAAATGGCCAAAGG", "CKWPK"),
        ("s_chunk_1F3", "GTAAATGGCCAAAGGG", "VNGQR"),
        ("s_chunk_1R1", "CCCTTTGGCCATTTACAT", "PFGHLH"),
        ("s_chunk_1R2", "CCTTTGGCCATTTACA", "PLAIY"),
        ("s_chunk_1R3", "CTTTGGCCATTTACAT", "LWPFT"),
    ]


def test_ambiguous_codons_dropped_or_translated_to_x():
    """ATGNNNGCC (reverse GGCNNNCAT): drop shortens proteins and skips empty ones; x keeps all."""
    ((_, _, dropped),) = translated("s", "ATGNNNGCC", 300, ambiguous="drop")
    assert dropped == [
        ("s_chunk_1F1", "ATGNNNG", "MA"),  # 3 * 2 + 1 bases: no longer codon-aligned
        ("s_chunk_1R1", "GGCNNNC", "GH"),
    ]
    ((_, _, as_x),) = translated("s", "ATGNNNGCC", 300, ambiguous="x")
    assert as_x == [
        ("s_chunk_1F1", "ATGNNNGCC", "MXA"),
        ("s_chunk_1F2", "TGNNNGC", "XX"),
        ("s_chunk_1F3", "GNNNGCC", "XX"),
        ("s_chunk_1R1", "GGCNNNCAT", "GXH"),
        ("s_chunk_1R2", "GCNNNCA", "XX"),
        ("s_chunk_1R3", "CNNNCAT", "XX"),
    ]
    with pytest.raises(ValueError, match="ambiguous must be one of"):
        translated("s", "ATGNNNGCC", 300, ambiguous="N")


def test_reverse_strand_keeps_iupac_codes_like_the_original():
    """The original complements A/C/G/T only: a trailing M is still M at the start of R1."""
    # reverse strand MCC GGG TTT CAT (Biopython's reverse complement would start with K)
    for ambiguous, expected in (("x", ("MCCGGGTTTCAT", "XGFH")), ("drop", ("MCCGGGTTTC", "GFH"))):
        ((_, _, frames),) = translated("s", "ATGAAACCCGGM", 300, ambiguous)
        assert {fid: (nt, p) for fid, nt, p in frames}["s_chunk_1R1"] == expected


def test_keep_callback_can_veto_frames():
    """The training builder's veto sees (chunk id, protein) and removes frames it refuses."""
    seen = []

    def keep(cid, protein):
        seen.append((cid, protein))
        return protein == "MAKG"

    ((_, _, kept),) = translated("s", "ATGGCCAAAGGG", 300, keep=keep)
    assert kept == [("s_chunk_1F1", "ATGGCCAAAGGG", "MAKG")]
    assert seen == [("s_chunk_1", p) for p in ("MAKG", "WPK", "GQR", "PFGH", "PLA", "LWP")]


# --------------------------------------------------------------------------- Biopython oracle


@pytest.mark.parametrize("ambiguous", ["drop", "x"])
@pytest.mark.parametrize("seed", range(4))
def test_translate_record_agrees_with_biopython_on_random_records(seed, ambiguous):
    """Random lengths (0 to 400 bp), chunk lengths (1 to 60, and 300) and some N/M/R codes."""
    rng = random.Random(seed)
    alphabet = "ACGT" * 30 + "NMR"
    kept = rejected = 0
    for k in range(60):
        length = rng.choice([0, 1, 2, 3, 4, 5, rng.randint(6, 400)])
        seq = "".join(rng.choices(alphabet, k=length))
        chunk_length = rng.choice([300, rng.randint(1, 60)])
        expected = oracle_record(f"r{k}", seq, chunk_length, ambiguous)
        assert translated(f"r{k}", seq, chunk_length, ambiguous) == expected, (seq, chunk_length)
        kept += sum(len(frames) for _, _, frames in expected)
        rejected += sum(6 for _ in expected) - sum(len(frames) for _, _, frames in expected)
    assert kept > 200 and rejected > 200  # both outcomes are exercised


@pytest.mark.parametrize("ambiguous", ["drop", "x"])
def test_translate_chunk_agrees_with_biopython(ambiguous):
    """The single-chunk helper the precision check samples with: protein or None per frame."""
    rng = random.Random(11)
    for _ in range(200):
        chunk = "".join(rng.choices("ACGT" * 20 + "N", k=rng.randint(0, 40)))
        rev = original_reverse_complement(chunk)
        expected = []
        for name, strand in (("F", chunk), ("R", rev)):
            for offset in range(3):
                protein = oracle_protein(strand, offset, ambiguous)
                ok = protein and "*" not in protein
                expected.append((f"{name}{offset + 1}", protein if ok else None))
        assert translate_chunk(chunk, ambiguous) == expected, chunk


# --------------------------------------------------------------------------- what preprocess writes


def _preprocess(fasta, chunk_length, tmp_path, ambiguous):
    out = [tmp_path / n for n in ("chunked.fa", "nuc.fa", "prot.faa", "seqs.tsv")]
    preprocess_fasta(fasta, chunk_length, *out, ambiguous=ambiguous)
    return read_simple_fasta(out[1]), read_simple_fasta(out[2]), out[3]


@pytest.mark.parametrize(
    ("name", "chunk_length", "ambiguous"),
    [
        ("biopython_NC_001802_HIV1.fna", 300, "drop"),  # real ORFs: many stop-free frames
        ("genbank/derived_fasta/NC_001422_phiX174.fna", 500, "drop"),
        ("dvf_virus_val.fa", 300, "x"),  # holds M, Y and K
        ("dvf_host_val.fa", 300, "drop"),  # holds runs of N
        ("dvf_host_val.fa", 300, "x"),
    ],
)
def test_identified_frame_files_agree_with_biopython(
    shared_data, tmp_path, name, chunk_length, ambiguous
):
    """The identified nucleotide/protein FASTA preprocessing writes, frame by frame."""
    nucleotide, protein, sequences = _preprocess(
        shared_data / name, chunk_length, tmp_path, ambiguous
    )
    expected = []
    per_record = {}
    for record in SeqIO.parse(shared_data / name, "fasta"):
        chunks = oracle_record(record.id, str(record.seq).upper(), chunk_length, ambiguous)
        frames = [frame for _, _, chunk_frames in chunks for frame in chunk_frames]
        expected += frames
        per_record[record.id] = len(frames)
    assert nucleotide == [(fid, nt) for fid, nt, _ in expected]
    assert protein == [(fid, p) for fid, _, p in expected]
    assert len(expected) >= 5, "too few kept frames to compare"
    rows = [line.split("\t") for line in sequences.read_text().splitlines()[1:]]
    assert {r[0]: int(r[3]) for r in rows} == per_record
