"""The bad-input corpus (tests/data/bad_inputs): each case gives a clear error or right output."""

import csv
import random
from pathlib import Path

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.fasta import read_nucleotide_fasta
from virnucpro_smk.preprocess import preprocess_fasta

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
CASES = list(csv.DictReader(open(CORPUS / "expected.tsv"), delimiter="\t"))


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_case(case, tmp_path):
    path = CORPUS / case["file"]
    outputs = [tmp_path / n for n in ("c.fa", "n.fa", "p.faa", "s.tsv")]
    if case["outcome"] == "error":
        with pytest.raises(InputError) as info:
            preprocess_fasta(path, 300, *outputs)
        message = str(info.value)
        assert case["expect"] in message
        assert str(path) in message, "the message must name the file"
        assert not any(p.exists() for p in outputs), "a failed run must leave no output behind"
    else:
        expected = dict(pair.split("=", 1) for pair in case["expect"].split(";"))
        records = {r.id: r.seq for r in read_nucleotide_fasta(path)}
        assert records == expected
        stats = preprocess_fasta(path, 300, *outputs)
        assert stats.sequences == len(expected)
        assert outputs[3].read_text().count("\n") == len(expected) + 1


def test_one_megabase_sequence(tmp_path):
    rng = random.Random(5)
    seq = "".join(rng.choices("ACGT", k=1_000_000))
    path = tmp_path / "big.fa"
    path.write_text(">big\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n")
    outs = [tmp_path / n for n in ("c.fa", "n.fa", "p.faa", "s.tsv")]
    stats = preprocess_fasta(path, 300, *outs)
    assert stats.bases == 1_000_000
    assert stats.chunks == 3334
    assert outs[0].read_text().count(">") == 3334


def test_awkward_ids_are_reported(caplog):
    list(read_nucleotide_fasta(CORPUS / "awkward_ids.fa"))
    assert "contig/with/slashes" in caplog.text
