from virnucpro_smk.preprocess.frames import reverse_complement, translate_chunk, translate_record


def test_six_frames_of_a_known_sequence():
    # reverse complement CCCTTTGGCCAT; every frame worked out by hand
    frames = dict(translate_chunk("ATGGCCAAAGGG"))
    assert frames["F1"] == "MAKG"
    assert frames["F2"] == "WPK"
    assert frames["F3"] == "GQR"
    assert frames["R1"] == "PFGH"
    assert frames["R2"] == "PLA"
    assert frames["R3"] == "LWP"


def test_frames_with_stops_are_not_kept_and_nucleotide_is_one_base_longer():
    ((_cid, _chunk, kept),) = translate_record("s", "ATGTAAATGGCCAAAGGG", 300)
    names = {f.id[-2:]: f for f in kept}
    assert "F1" not in names  # TAA in frame 1
    f2 = names["F2"]
    assert len(f2.nucleotide) == 3 * len(f2.protein) + 1
    assert "*" not in "".join(f.protein for f in kept)


def test_ambiguous_codons_dropped_or_translated_to_x():
    seq = "ATGNNNGCC"
    ((_c, _s, dropped),) = translate_record("s", seq, 300, ambiguous="drop")
    ((_c, _s, as_x),) = translate_record("s", seq, 300, ambiguous="x")
    assert {f.id: f.protein for f in dropped}["s_chunk_1F1"] == "MA"
    assert {f.id: f.protein for f in as_x}["s_chunk_1F1"] == "MXA"


def test_reverse_complement_keeps_iupac_codes_like_the_original():
    assert reverse_complement("ACGTM") == "MACGT"


def test_keep_callback_can_veto_frames():
    ((_c, _s, kept),) = translate_record("s", "ATGGCCAAAGGG", 300, keep=lambda cid, p: p == "MAKG")
    assert [f.id for f in kept] == ["s_chunk_1F1"]
