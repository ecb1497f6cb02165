"""Viral regions from predict and from `virnucpro-smk regions`: tables, FASTA, calls, errors."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest
from test_predict import _sign_classifier, _write_shards

from conftest import default_region_model, default_thresholds
from virnucpro_smk.classify.predict import FeatureFiles, PredictionFiles, predict_sample
from virnucpro_smk.classify.region_files import read_chunk_track, regions_from_per_chunk
from virnucpro_smk.classify.region_model import (
    HOST_CALL,
    UNSCORED,
    VIRAL_CALL,
    call_regions,
)
from virnucpro_smk.cli import main as cli_main
from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.predictions import PER_CHUNK, PER_SEQUENCE
from virnucpro_smk.formats.regions import REGIONS
from virnucpro_smk.io.fasta import read_nucleotide_fasta

DNA, PROT = "standin_dnabert_48d", "standin_esm2_64d"
L = 300
# host1: 100 chunks (29,900 bp: the chunker spreads 100 bp of overlap), chunks 41-70 viral;
# vir: all 10 chunks viral; host2: 20 host chunks. Every third chunk keeps no frame.
PLANTED = {"host1": range(41, 71), "vir": range(1, 11), "host2": range(0)}
# Tracks where the region model and the sequence rule disagree, one letter per 300-bp chunk
# (V viral, H host, U no coding frame): the HMM decodes the first three as one whole region
# (36-50 % viral, or one scored chunk of eight) and the last as a region at its start only.
DISAGREE = {
    "band": "VHVHVHVHHH",  # 40 % viral: nonviral
    "short_band": "VHVHH",  # 40 %, five chunks: nonviral
    "sparse": "VUUUUUUU",  # one scored chunk of eight: too few scored chunks
    "short": "VH",  # half viral: viral
    "viral_host_end": "V" * 12 + "H" * 8,  # 60 % viral: viral, host-like end
}
SEQUENCES = {"host1": 29_900, "vir": 3_000, "host2": 6_000}
SEQUENCES.update({sid: L * len(track) for sid, track in DISAGREE.items()})


def _track(sid: str) -> str:
    if sid in DISAGREE:
        return DISAGREE[sid]
    return "".join(
        "U" if k % 3 == 0 else "V" if k in PLANTED[sid] else "H"
        for k in range(1, -(-SEQUENCES[sid] // L) + 1)
    )


def _x0(sid: str, k: int, call: str) -> float:
    """A frame's first feature (its viral score is sigmoid(5 x0)); varied on the DISAGREE
    tracks so that their means depend on every digit."""
    if sid not in DISAGREE:
        return 3.0 if call == "V" else -2.0
    step = 0.0137 * (k % 11)
    return 0.05 + step if call == "V" else -0.05 - step


def _frames():
    return [
        (f"{sid}_chunk_{k}F1", _x0(sid, k, call))
        for sid in SEQUENCES
        for k, call in enumerate(_track(sid), start=1)
        if call != "U"
    ]


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
    scores = predict_sample(
        FeatureFiles(dna, prot, DNA, PROT, L), _sign_classifier(tmp / "clf"), seqs, fasta,
        PredictionFiles(*out.values()), default_thresholds(), default_region_model(),
    )  # fmt: skip
    out.update(fasta=fasta, sequences=seqs, scores=scores)
    return out


def test_regions_table_planted_provirus_and_whole_contig(predicted):
    rows = _rows(predicted["regions"])
    assert list(rows[0]) == list(REGIONS.header)
    chunks = _rows(predicted["per_chunk"])
    span = {(r["sequence_id"], int(r["chunk"])): (int(r["start"]), int(r["end"])) for r in chunks}
    host1, vir = rows[:2]
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
        "band": ("nonviral", "0"),
        "short_band": ("nonviral", "0"),
        "sparse": ("too few scored chunks", "0"),
        "short": ("viral", "1"),
        "viral_host_end": ("viral", "1"),
    }
    # viral.fna still holds whole records called viral only
    viral = ["vir", "short", "viral_host_end"]
    assert [r.id for r in read_nucleotide_fasta(predicted["viral"])] == viral


def test_the_tracks_really_disagree():
    """The premise of the next test: decoded alone, the HMM contradicts the sequence rule."""
    codes = {"V": VIRAL_CALL, "H": HOST_CALL, "U": UNSCORED}
    for sid, track in DISAGREE.items():
        calls = np.array([codes[c] for c in track], dtype=np.int8)
        got = call_regions(calls, np.array([0, len(calls)]), default_region_model())
        first, last = got.first.tolist(), got.last.tolist()
        if sid == "viral_host_end":
            assert (first, last, got.whole.tolist()) == ([0], [11], [False])
        else:
            assert got.whole.tolist() == [True], sid


def test_one_story_per_sequence_in_every_output(predicted):
    """A region only where the call allows it: `whole` exactly on sequences called viral
    (one each, spanning the sequence), `provirus` only inside sequences called provirus, none
    on nonviral / too-few-scored ones; viral.fna, viral_regions.fna, the regions table and
    the plot's shading hold the same story."""
    calls = {r["sequence_id"]: r for r in _rows(predicted["per_sequence"])}
    regions = _rows(predicted["regions"])
    by_seq: dict[str, list[dict]] = {}
    for row in regions:
        by_seq.setdefault(row["sequence_id"], []).append(row)
    for sid, seq in calls.items():
        mine = by_seq.get(sid, [])
        assert int(seq["regions"]) == len(mine), sid
        if seq["call"] == "viral":
            (whole,) = mine
            assert whole["kind"] == "whole"
            assert (whole["start"], whole["end"]) == ("1", seq["length_bp"])
            assert (whole["chunks"], whole["chunks_scored"], whole["chunks_viral"]) == (
                seq["chunks"],
                seq["chunks_scored"],
                seq["chunks_viral"],
            )
            assert whole["mean_viral_score"] == seq["mean_viral_score"]
        elif seq["call"] == "provirus":
            assert mine and {r["kind"] for r in mine} == {"provirus"}
        else:
            assert mine == [], (sid, seq["call"])
    whole_ids = [r["sequence_id"] for r in regions if r["kind"] == "whole"]
    assert whole_ids == [r.id for r in read_nucleotide_fasta(predicted["viral"])]
    # the figure shades exactly the table's regions (0-based start there, 1-based here)
    from virnucpro_smk.report.scores_plot import _region_spans

    scores = predicted["scores"]
    shaded = [
        (sid, start + 1, end)
        for i, sid in enumerate(scores.table.ids)
        for start, end in _region_spans(scores, i)
    ]
    assert shaded == [(r["sequence_id"], int(r["start"]), int(r["end"])) for r in regions]


def test_means_are_over_the_scores_as_printed_so_the_tool_matches_predict(tmp_path):
    """Chunk scores 4e-7, 4e-7, 8e-7 print as 0.000000, 0.000000, 0.000001: their printed
    mean prints 0.000000, the unrounded one 0.000001. Predict's tables and the regions tool
    (which only has the printed scores) must say the same."""
    from virnucpro_smk.classify.predict import (
        SampleScores,
        chunk_rows,
        read_sequence_table,
        sequence_rows,
    )
    from virnucpro_smk.classify.region_files import sample_region_rows

    seqs = tmp_path / "sequences.tsv"
    seqs.write_text("sequence_id\tlength_bp\tn_chunks\nv\t900\t3\n")
    scores = SampleScores.empty(read_sequence_table(seqs, L), L)
    scores.frames[:] = 1
    scores.best_viral[:] = np.float32([4e-7, 4e-7, 8e-7])
    scores.best_nonviral[:] = 0.0
    scores.finish(default_thresholds()).add_regions(default_region_model())
    PER_CHUNK.write(tmp_path / "per_chunk.tsv", chunk_rows(scores))
    PER_SEQUENCE.write(tmp_path / "per_sequence.tsv", sequence_rows(scores))
    REGIONS.write(tmp_path / "regions.tsv", sample_region_rows(scores, scores.regions))
    (region,) = _rows(tmp_path / "regions.tsv")
    assert region["mean_viral_score"] == "0.000000"
    assert _rows(tmp_path / "per_sequence.tsv")[0]["mean_viral_score"] == "0.000000"
    rows = regions_from_per_chunk(
        tmp_path / "per_chunk.tsv",
        tmp_path / "tool.tsv",
        None,
        default_region_model(),
        default_thresholds(),
    )
    assert (tmp_path / "tool.tsv").read_text() == (tmp_path / "regions.tsv").read_text()
    assert len(rows) == 1


def test_region_means_are_those_of_per_chunk_scores_as_printed(predicted):
    chunks = _rows(predicted["per_chunk"])
    for row in _rows(predicted["regions"]):
        values = [
            float(c["best_viral_score"])
            for c in chunks
            if c["sequence_id"] == row["sequence_id"]
            and int(row["start"]) <= int(c["start"])
            and int(c["end"]) <= int(row["end"])
            and c["best_viral_score"] != "NA"
        ]
        assert row["mean_viral_score"] == f"{np.mean(values):.6f}"


def test_cli_on_per_chunk_gives_predicts_regions(predicted, tmp_path):
    out = tmp_path / "regions.tsv"
    args = ["regions", str(predicted["per_chunk"]), "--out", str(out)]
    assert cli_main([*args, "--sequences", str(predicted["sequences"])]) == 0
    assert out.read_text() == predicted["regions"].read_text()


def test_cli_applies_the_runs_thresholds(predicted, tmp_path):
    out = tmp_path / "regions.tsv"
    args = ["regions", str(predicted["per_chunk"]), "--out", str(out)]
    assert cli_main([*args, "--min-viral-fraction", "0.4"]) == 0
    whole = [r["sequence_id"] for r in _rows(out) if r["kind"] == "whole"]
    assert whole == ["vir", "band", "short_band", "short", "viral_host_end"]


def test_cli_defaults_are_the_schemas():
    import yaml

    from conftest import ROOT
    from virnucpro_smk.cli import parser

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    keys = schema["properties"]["predict"]["properties"]
    predict = {key: value.get("default") for key, value in keys.items()}
    args = parser().parse_args(["regions", "per_chunk.tsv", "--out", "r.tsv"])
    assert (args.min_viral_fraction, args.min_scored_fraction) == (
        predict["min_viral_fraction"],
        predict["min_scored_fraction"],
    )
    assert (args.sensitivity, args.false_positive_rate, args.switch_probability) == (
        predict["region_sensitivity"],
        predict["region_false_positive_rate"],
        predict["region_switch_probability"],
    )


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

    def bad_score(lines):  # line 2 is host1 chunk 1, scored
        lines[1] = lines[1].replace("\t0.", "\tzero", 1)
        return "".join(lines)

    path = _bad_per_chunk(tmp_path, predicted, bad_score)
    err = _one_line_error(capsys, ["regions", str(path), "--out", out])
    assert f"{path}, line 2" in err and "not a number" in err

    seqs = tmp_path / "short.tsv"
    seqs.write_text(predicted["sequences"].read_text().replace("vir\t3000", "vir\t2999"))
    err = _one_line_error(
        capsys,
        ["regions", str(predicted["per_chunk"]), "--out", out, "--sequences", str(seqs)],
    )
    assert f"{predicted['per_chunk']}, line 111" in err and "past the end of vir" in err
    assert not (tmp_path / "r.tsv").exists()  # nothing half-written


def test_cli_refuses_what_the_workflow_would_not_write(predicted, tmp_path, capsys):
    """Exit 1 and one line naming the file (and row) for each: a missing input, a directory
    as --out, a duplicated chunk row (counted twice otherwise), a score of 1.7."""
    out = tmp_path / "r.tsv"
    missing = tmp_path / "nowhere.tsv"
    err = _one_line_error(capsys, ["regions", str(missing), "--out", str(out)])
    assert str(missing) in err and "not found" in err
    err = _one_line_error(capsys, ["regions", str(predicted["per_chunk"]), "--out", str(tmp_path)])
    assert str(tmp_path) in err and "directory" in err

    def twice(lines):  # line 3 (host1 chunk 2) again after itself
        return "".join([*lines[:3], lines[2], *lines[3:]])

    path = _bad_per_chunk(tmp_path, predicted, twice)
    err = _one_line_error(capsys, ["regions", str(path), "--out", str(out)])
    assert f"{path}, line 4" in err and "repeats" in err

    def too_high(lines):  # line 2 is host1 chunk 1, scored
        cells = lines[1].split("\t")
        cells[5] = "1.7"
        lines[1] = "\t".join(cells)
        return "".join(lines)

    path = _bad_per_chunk(tmp_path, predicted, too_high)
    err = _one_line_error(capsys, ["regions", str(path), "--out", str(out)])
    assert f"{path}, line 2" in err and "1.7" in err and "[0, 1]" in err
    assert not out.exists()


def test_read_chunk_track_refuses_split_sequences(predicted, tmp_path):
    def move(lines):
        return "".join([lines[0], lines[2], *lines[3:], lines[1]])

    path = _bad_per_chunk(tmp_path, predicted, move)
    with pytest.raises(InputError, match="not consecutive"):
        read_chunk_track(path)


def test_per_chunk_without_sequences_still_works(predicted, tmp_path):
    rows = regions_from_per_chunk(
        predicted["per_chunk"],
        tmp_path / "r.tsv",
        None,
        default_region_model(),
        default_thresholds(),
    )
    assert [(r.sequence_id, r.kind) for r in rows] == [
        ("host1", "provirus"),
        ("vir", "whole"),
        ("short", "whole"),
        ("viral_host_end", "whole"),
    ]


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
