"""Cutting sequences into fixed-length chunks, with VirNucPro's overlap-spreading rule.

VirNucPro does not simply tile a sequence: it makes ``n = ceil(len / L)`` chunks and shifts
chunk starts back so that the overlap is spread over the chunks. The exact rule (pinned down
by the original tool's outputs, see shared/data/README.md) is reproduced here because the
published classifiers were trained on chunks cut this way. A quirk of that rule: the last
chunk can be shorter than ``L`` even when the sequence is longer than ``L``.
"""

from __future__ import annotations

import math


def chunk_starts(length: int, chunk_length: int) -> list[int]:
    """Start offsets of the chunks of a sequence of ``length`` bases.

    ``n = ceil(length / L)``; with ``r = n*L - length``, ``lo = r // n`` and
    ``need = r - lo*(n-1)``, the shifts are ``need`` copies of ``lo+1`` followed by
    ``lo`` copies, and chunk ``k+1`` starts at ``k*L - (s_1 + ... + s_k)``.
    """
    if chunk_length <= 0:
        raise ValueError(f"chunk length must be positive, got {chunk_length}")
    if length <= 0:
        return []
    n = math.ceil(length / chunk_length)
    overlap = n * chunk_length - length
    lo = overlap // n
    need = overlap - lo * (n - 1)
    starts = [0]
    shifted = 0
    for k in range(1, n):
        shifted += lo + 1 if k <= need else lo
        starts.append(k * chunk_length - shifted)
    return starts


def chunk_span(length: int, chunk_length: int, k: int) -> tuple[int, int]:
    """(start, end) of chunk ``k`` (0-based) alone, in O(1): what :func:`chunk_starts` gives.

    The first ``k`` shifts sum to ``k*lo + min(k, need)``. For walking along a record too long
    to list its spans (a 300-Mbp chromosome has a million chunks).
    """
    n = math.ceil(length / chunk_length)
    if not 0 <= k < n:
        raise IndexError(f"chunk {k} of a {length}-bp sequence ({n} chunks)")
    overlap = n * chunk_length - length
    lo = overlap // n
    need = overlap - lo * (n - 1)
    start = k * chunk_length - (k * lo + min(k, need))
    return start, min(start + chunk_length, length)


def chunk_spans(length: int, chunk_length: int) -> list[tuple[int, int]]:
    """(start, end) of each chunk; each is at most ``chunk_length`` long, cut at the end."""
    return [(s, min(s + chunk_length, length)) for s in chunk_starts(length, chunk_length)]


def chunk_count(length: int, chunk_length: int) -> int:
    """Number of chunks a sequence of ``length`` bases yields (cheap: used at DAG build)."""
    return math.ceil(length / chunk_length) if length > 0 else 0


# Ids, as in the original: chunk ``<sequence id>_chunk_<n>`` (n from 1), frame
# ``<chunk id><F|R><1-3>``. A sequence id may itself contain ``_chunk_``: parsers split
# at the *last* one.


def chunk_id(sequence_id: str, number: int) -> str:
    """Id of chunk ``number`` (counted from 1) of a sequence."""
    return f"{sequence_id}_chunk_{number}"


def chunk_of(frame_id: str) -> str:
    """Chunk id of a frame id (``<seq>_chunk_<n>F1`` -> ``<seq>_chunk_<n>``)."""
    return frame_id[:-2]


def split_chunk_id(chunk: str) -> tuple[str, str]:
    """``(sequence id, chunk number as text)`` of a chunk id.

    An id without ``_chunk_`` (features made elsewhere) is its own sequence, number ``""``.
    """
    sequence, found, number = chunk.rpartition("_chunk_")
    return (sequence, number) if found else (chunk, "")


def sequence_of(chunk: str) -> str:
    """Sequence id of a chunk id (everything before the last ``_chunk_``)."""
    return split_chunk_id(chunk)[0]


def record_of(frame_id: str) -> str:
    """Source sequence (record) of a frame id."""
    return sequence_of(chunk_of(frame_id))
