"""Viral regions from predict and from `virnucpro-smk regions`: tables, FASTA, calls, errors."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest
from test_predict import _sign_classifier, _write_shards

from virnucpro_smk.classify.predict import PredictionFiles, predict_sample
from virnucpro_smk.classify.region_files import read_chunk_track, regions_from_per_chunk
from virnucpro_smk.classify.regions import REGIONS_COLUMNS
from virnucpro_smk.cli import main as cli_main
from virnucpro_smk.errors import InputError
from virnucpro_smk.io.fasta import read_nucleotide_fasta

DNA, PROT = "standin_dnabert_48d", "standin_esm2_64d"
L = 300
# host1: 100 chunks (29,900 bp: the chunker spreads 100 bp of overlap), chunks 41-70 viral;
# vir: all 10 chunks viral; host2: 20 host chunks. Every third chunk keeps no frame.
SEQUENCES = {"host1": 29_900, "vir": 3_000, "host2": 6_000}
PLANTED = {"host1": range(41, 71), "vir": range(1, 11), "host2": range(0)}


def _frames():
    frames = []
    for sid, length in SEQUENCES.items():
        for k in range(1, -(-length // L) + 1):
            if k % 3 == 0:
                continue  # unscored
            frames.append((f"{sid}_chunk_{k}F1", 3.0 if k in PLANTED[sid] else -2.0))
    return frames


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regions")
    frames = _frames()
    kept = {sid: sum(f.startswith(f"{sid}_chunk_") for f, _ in frames) for sid in SEQUENCES}
    seqs = tmp / "sequences.tsv"
    seqs.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        + "".join(f"{s}\t{n}\t{-(-n // L)}\t{kept[s]}\n" for s, n in SEQUENCES.items())
    )
    rng = np.random.default_rng(2)
    fasta = tmp / "in.fa.gz"
    with gzip.open(fasta, "wt") as handle:
        for sid, n in SEQUENCES.items():
            handle.write(f">{sid} desc\n{''.join(rng.choice(list('ACGT'), n))}\n")
    dna, prot = _write_shards(tmp, frames, n_shards=2)
    names = ("predictions", "per_chunk", "per_sequence", "viral", "regions", "viral_regions")
    out = {k: tmp / "out" / f"{k}.{'fna' if 'viral' in k else 'tsv'}" for k in names}
    predict_sample(
        dna, prot, _sign_classifier(tmp / "clf"), seqs, fasta, L, DNA, PROT,
        PredictionFiles(*out.values()),
    )  # fmt: skip
    out.update(fasta=fasta, sequences=seqs)
    return out


def test_regions_table_planted_provirus_and_whole_contig(predicted):
    rows = _rows(predicted["regions"])
    assert list(rows[0]) == list(REGIONS_COLUMNS)
    chunks = _rows(predicted["per_chunk"])
    span = {(r["sequence_id"], int(r["chunk"])): (int(r["start"]), int(r["end"])) for r in chunks}
    host1, vir = rows
    # coordinates are those of per_chunk.tsv: start of chunk 41, end of chunk 70
    assert (host1["sequence_id"], host1["kind"]) == ("host1", "provirus")
    assert int(host1["start"]) == span["host1", 41][0]
    assert int(host1["end"]) == span["host1", 70][1]
    assert int(host1["length_bp"]) == int(host1["end"]) - int(host1["start"]) + 1
    # 30 chunks, every third unscored: 20 scored, all viral
    assert (host1["chunks"], host1["chunks_scored"], host1["chunks_viral"]) == ("30", "20", "20")
    assert float(host1["mean_viral_score"]) == pytest.approx(1 / (1 + np.exp(-15.0)), abs=1e-6)
    # the whole viral contig: one region, base 1 to its last base
    assert (vir["sequence_id"], vir["start"], vir["end"], vir["kind"]) == (
        "vir",
        "1",
        "3000",
        "whole",
    )


def test_viral_regions_fasta_holds_exactly_the_region_bases(predicted):
    source = {r.id: r.seq for r in read_nucleotide_fasta(predicted["fasta"])}
    regions = _rows(predicted["regions"])
    records = list(read_nucleotide_fasta(predicted["viral_regions"]))
    assert len(records) == len(regions)
    for record, row in zip(records, regions, strict=True):
        start, end = int(row["start"]), int(row["end"])
        assert record.id == f"{row['sequence_id']}:{start}-{end}"
        assert record.seq == source[row["sequence_id"]][start - 1 : end]
        assert len(record.seq) == int(row["length_bp"])


def test_per_sequence_counts_regions_and_calls_provirus(predicted):
    rows = {r["sequence_id"]: r for r in _rows(predicted["per_sequence"])}
    assert {s: (r["call"], r["regions"]) for s, r in rows.items()} == {
        "host1": ("provirus", "1"),  # 20 of 67 scored chunks viral: nonviral before regions
        "vir": ("viral", "1"),
        "host2": ("nonviral", "0"),
    }
    # viral.fna still holds whole records called viral only
    assert [r.id for r in read_nucleotide_fasta(predicted["viral"])] == ["vir"]


def test_cli_on_per_chunk_gives_predicts_regions(predicted, tmp_path):
    out = tmp_path / "regions.tsv"
    args = ["regions", str(predicted["per_chunk"]), "--out", str(out)]
    assert cli_main([*args, "--sequences", str(predicted["sequences"])]) == 0
    assert out.read_text() == predicted["regions"].read_text()


def _bad_per_chunk(tmp_path, predicted, edit):
    lines = predicted["per_chunk"].read_text().splitlines(keepends=True)
    path = tmp_path / "bad.tsv"
    path.write_text(edit(lines))
    return path


def _one_line_error(capsys, argv) -> str:
    assert cli_main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_cli_bad_input_names_file_and_row(predicted, tmp_path, capsys):
    out = str(tmp_path / "r.tsv")
    no_call = _bad_per_chunk(
        tmp_path, predicted, lambda ls: "".join(line.rsplit("\t", 1)[0] + "\n" for line in ls)
    )
    err = _one_line_error(capsys, ["regions", str(no_call), "--out", out])
    assert str(no_call) in err and "call" in err

    def bad_score(lines):  # row 2 is host1 chunk 1, scored
        lines[1] = lines[1].replace("\t0.", "\tzero", 1)
        return "".join(lines)

    path = _bad_per_chunk(tmp_path, predicted, bad_score)
    err = _one_line_error(capsys, ["regions", str(path), "--out", out])
    assert f"{path}, row 2" in err and "not a number" in err

    seqs = tmp_path / "short.tsv"
    seqs.write_text(predicted["sequences"].read_text().replace("vir\t3000", "vir\t2999"))
    err = _one_line_error(
        capsys,
        ["regions", str(predicted["per_chunk"]), "--out", out, "--sequences", str(seqs)],
    )
    assert f"{predicted['per_chunk']}, row 111" in err and "past the end of vir" in err
    assert not (tmp_path / "r.tsv").exists()  # nothing half-written


def test_read_chunk_track_refuses_split_sequences(predicted, tmp_path):
    def move(lines):
        return "".join([lines[0], lines[2], *lines[3:], lines[1]])

    path = _bad_per_chunk(tmp_path, predicted, move)
    with pytest.raises(InputError, match="not consecutive"):
        read_chunk_track(path)


def test_per_chunk_without_sequences_still_works(predicted, tmp_path):
    rows = regions_from_per_chunk(predicted["per_chunk"], tmp_path / "r.tsv")
    assert [(r.sequence_id, r.kind) for r in rows] == [("host1", "provirus"), ("vir", "whole")]


def test_long_tracks_keep_every_scored_chunk_as_a_column_maximum():
    from virnucpro_smk.report.scores_plot import track_columns

    # 1000 bp drawn in 4 columns of 250 bp; chunk starts 0, 100, 300, 600, 900
    starts = np.array([0, 100, 300, 600, 900])
    scores = np.array([0.9, 0.2, 0.4, 0.1, 0.7])
    viral = np.array([True, False, False, False, True])
    best, col_viral, filled = track_columns(starts, scores, viral, 1000, 4)
    # columns: [0, 250) holds 0.9 (viral, the max) and 0.2; [250, 500) 0.4; [500, 750) 0.1;
    # [750, 1000) 0.7
    assert best.tolist() == [0.9, 0.4, 0.1, 0.7]
    assert col_viral.tolist() == [True, False, False, True]
    assert filled.all()
    best, _, filled = track_columns(starts[:2], scores[:2], viral[:2], 1000, 4)
    assert filled.tolist() == [True, False, False, False]
