"""Long records and junk are read block by block: memory does not grow with a line's length.

A chromosome written on one line is a 300-MB line; a binary file handed over by mistake may
have no line break at all. The FASTA reader, the DAG's chunk count and preprocessing hold a
block (and a window of bases), never a record. The figures at full scale (a 300-Mbp line:
4.4 GB before, under 0.1 GB now) are in the report of issue 24; these tests pin the property
at a scale that runs in a second.
"""

from __future__ import annotations

import logging
import random
import tracemalloc

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser

import virnucpro_smk.io.fasta as fasta
from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess import sample
from virnucpro_smk.preprocess.chunk_counts import count_chunks
from virnucpro_smk.preprocess.sample import preprocess_fasta

MESSY = (
    "\r\n  \n>a first\r\nACGTacgt\r\nuuNN \r\n\r\n>b\tx\nAC GT\tAC\n"
    ">c\rACG\rTTT\r>d  \n" + "ACGTRYKM" * 40 + "\n\n>e\nA\n"
)


def _oracle(path):
    """What the reader returned before it read blocks: Biopython on universal newlines."""
    with open(path, encoding="utf-8") as handle:
        return [
            (title.split()[0], seq.replace("\t", "").upper().replace("U", "T"))
            for title, seq in SimpleFastaParser(handle)
        ]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 1 << 20])
def test_block_boundaries_change_nothing(tmp_path, monkeypatch, block):
    path = tmp_path / "messy.fa"
    path.write_bytes(MESSY.encode())
    monkeypatch.setattr(fasta, "BLOCK_BYTES", block)
    records = [(r.id, r.seq) for r in fasta.read_nucleotide_fasta(path)]
    assert records == _oracle(path)
    assert list(fasta.record_lengths(path)) == [len(seq) for _, seq in records]


def _one_line_record(path, length: int) -> None:
    rng = random.Random(length)
    with open(path, "w") as out:
        out.write(">chromosome one line\n")
        for _ in range(length // 100_000):
            out.write("".join(rng.choices("ACGT", k=100_000)))
        out.write("\n")


def _peak_bytes(function, *args) -> int:
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_one_line_record_in_bounded_memory_with_progress_inside_it(tmp_path, monkeypatch, caplog):
    """Preprocessing a 2-Mbp line peaks like a 0.5-Mbp one (before: ~15 bytes per base held),
    logs progress while inside the record (before: once per record), and the DAG's chunk
    count holds a block. Blocks and windows are cut to 64 kB (and writes to 256 chunks) here
    so the test runs in a second; the defaults (1 MiB, 4096 chunks) give the same picture at
    300 Mbp (report of issue 24)."""
    from virnucpro_smk.preprocess import frames

    class EveryUpdate(sample.Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "interval": 0.0})

    monkeypatch.setattr(sample, "Progress", EveryUpdate)
    monkeypatch.setattr(fasta, "BLOCK_BYTES", 1 << 16)
    monkeypatch.setattr(frames, "WINDOW_BP", 1 << 16)
    monkeypatch.setattr(sample, "_CHUNKS_PER_WRITE", 256)
    caplog.set_level(logging.INFO, logger="virnucpro_smk.preprocess.sample")
    peaks = {}
    for length in (500_000, 2_000_000):
        path = tmp_path / f"line_{length}.fa"
        _one_line_record(path, length)
        outs = [tmp_path / f"{length}.{name}" for name in ("c.fa", "n.fa", "p.faa", "s.tsv")]
        caplog.clear()
        peaks[length] = _peak_bytes(preprocess_fasta, path, 300, *outs)
        inside = [m for m in caplog.messages if m.startswith("preprocess progress")]
        assert len(inside) >= length // 300 // sample._CHUNKS_PER_WRITE
        assert (tmp_path / f"{length}.s.tsv").read_text().splitlines()[1].split("\t")[:3] == [
            "chromosome",
            str(length),
            str(-(-length // 300)),
        ]
    assert peaks[2_000_000] < 1.5 * peaks[500_000], peaks
    assert peaks[2_000_000] < 2_000_000  # under one byte per base of the record
    count_peak = _peak_bytes(count_chunks, tmp_path / "line_2000000.fa", 300)
    assert count_peak < 2_000_000 // 4, count_peak  # a quarter of the line: blocks only


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00" * 5_000_000, "does not start a FASTA record"),
        (b">" + b"A" * 3_000_000, "header line is over"),
        (b">\xff\xfe" + bytes(range(256)) * 20_000, "not a text FASTA file"),
    ],
    ids=["zeros", "no-line-break", "binary-after-gt"],
)
def test_junk_fails_at_once_in_bounded_memory(tmp_path, content, message):
    """The DAG's chunk count and the job's reader both stop at the junk's first block."""
    path = tmp_path / "junk.fa"
    path.write_bytes(content)
    for read in (
        lambda p: list(fasta.record_lengths(p)),
        lambda p: list(fasta.read_nucleotide_fasta(p)),
    ):
        tracemalloc.start()
        try:
            with pytest.raises(InputError, match=message):
                read(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 * fasta.BLOCK_BYTES, peak
