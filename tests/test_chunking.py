import itertools
import math

import pytest

from virnucpro_smk.preprocess.chunking import (
    chunk_count,
    chunk_id,
    chunk_of,
    chunk_spans,
    chunk_starts,
    record_of,
    split_chunk_id,
)
from virnucpro_smk.preprocess.frames import translate_record


@pytest.mark.parametrize(
    ("length", "L", "lengths"),
    [
        (910, 300, [300, 300, 300, 229]),  # VIBRANT_sample_A/B in the reference outputs
        (910, 500, [500, 456]),
        (9181, 500, [500] * 18 + [487]),  # HIV-1
        (300, 300, [300]),
        (250, 300, [250]),  # shorter than L: one shorter chunk
        (1, 300, [1]),
    ],
)
def test_chunk_lengths_match_the_original(length, L, lengths):
    assert [e - s for s, e in chunk_spans(length, L)] == lengths


def test_last_chunk_of_2520bp_matches_reference():
    assert chunk_spans(2520, 300)[-1][1] - chunk_spans(2520, 300)[-1][0] == 288
    assert chunk_spans(2520, 500)[-1][1] - chunk_spans(2520, 500)[-1][0] == 425


@pytest.mark.parametrize("L", [1, 7, 300, 500])
def test_chunks_cover_the_sequence_without_gaps(L):
    for length in range(1, 3000, 37):
        spans = chunk_spans(length, L)
        assert len(spans) == math.ceil(length / L) == chunk_count(length, L)
        assert spans[0][0] == 0 and spans[-1][1] == length
        for (s1, e1), (s2, _e2) in itertools.pairwise(spans):
            assert s2 <= e1, "chunks must overlap or touch, never leave a gap"
            assert s2 > s1
        assert all(e - s <= L for s, e in spans)


def test_invalid_chunk_length_and_empty_sequence():
    with pytest.raises(ValueError):
        chunk_starts(100, 0)
    assert chunk_starts(0, 300) == []


@pytest.mark.parametrize("sequence_id", ["seq", "NC_000866.4", "a_chunk_b", "long_x_chunk_9"])
def test_frame_ids_made_by_translation_parse_back_to_their_sequence(sequence_id):
    """Predictions and training splits find a frame's chunk and record by parsing its id, so
    the ids translation writes must parse back, also when the sequence id holds ``_chunk_``."""
    seq = "ATGGCT" * 120  # 720 bp, no stop codon in F1: three chunks of 300
    chunks = list(translate_record(sequence_id, seq, 300))
    assert [cid for cid, _, _ in chunks] == [chunk_id(sequence_id, n) for n in (1, 2, 3)]
    for number, (cid, _, frames) in enumerate(chunks, start=1):
        assert frames, "a stop-free frame is expected in every chunk"
        for frame in frames:
            assert chunk_of(frame.id) == cid
            assert record_of(frame.id) == sequence_id
        assert split_chunk_id(cid) == (sequence_id, str(number))


def test_ids_made_elsewhere_are_their_own_sequence():
    """Features from other tools (``virnucpro-smk train``) may carry ids without ``_chunk_``:
    each is its own record, not one shared empty record that would merge every split."""
    assert split_chunk_id("contig7") == ("contig7", "")
    assert record_of("v0F1") == "v0" and record_of("v1F1") == "v1"


def test_one_chunk_span_alone_is_the_listed_one():
    """chunk_span (O(1), for walking a record too long to list its spans) agrees with
    chunk_spans for every chunk, including lengths where the overlap spreads unevenly."""
    from virnucpro_smk.preprocess.chunking import chunk_span

    for chunk_length, lengths in ((1, range(1, 200)), (3, range(1, 400)), (300, range(1, 1300)),
                                  (500, [*range(1, 1300), 300_001, 1_234_567])):  # fmt: skip
        for length in lengths:
            spans = chunk_spans(length, chunk_length)
            ks = range(len(spans)) if len(spans) < 500 else [0, 1, len(spans) // 2, len(spans) - 1]
            assert [chunk_span(length, chunk_length, k) for k in ks] == [spans[k] for k in ks]
