"""The held-out calls table (``calls.tsv``): every model's call of every held-out chunk, per seed.

The comparison decides on these calls, and writes them so that a lab can re-decide at its own
prevalence and margins without the workflow (``virnucpro-smk decide``). One row per held-out
chunk per model per training seed, fragments and chunks in ``fragments.tsv`` order:

``model seed genome label fragment_length fragment chunk scored call fragment_call``

* ``label``: 1 viral, 0 not; ``genome``: the test genome the fragment was cut from (the
  bootstrap's unit);
* ``scored``: 1 when the chunk kept a frame (only those are units of the chunk stratum; the
  others are listed so that every chunk is accounted for);
* ``call``: 1 when the chunk is called viral (0 when unscored);
* ``fragment_call``: 1 when predict calls the chunk's fragment ``viral`` (repeated on each of
  its chunks: the per-length strata read it once per fragment).

:class:`HeldoutCalls` is the typed table: built from the held-out score tables by the rule,
or read back by :func:`read_calls_table` (the one reader), and cut into the gate's strata by
:func:`calls_strata`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..classify.calls import VIRAL
from ..errors import InputError, ModelMismatchError
from ..formats.calls import CALLS, ChunkCall
from ..formats.heldout import FragmentRow
from .heldout_levels import HeldoutScores, sequence_level_name
from .noninferiority import Stratum

CHUNK_STRATUM = "chunk"


@dataclass(frozen=True)
class ModelCalls:
    """One model's calls, one row per training seed (seeds in training order)."""

    seeds: tuple[int, ...]
    chunk_calls: np.ndarray  # bool (seeds, chunks); False where the chunk is unscored
    fragment_calls: np.ndarray  # bool (seeds, fragments): predict calls the fragment viral


@dataclass(frozen=True)
class HeldoutCalls:
    """The held-out fragments and chunks, and each model's calls of them."""

    fragments: tuple[str, ...]
    fragment_genomes: tuple[str, ...]
    fragment_labels: np.ndarray  # int
    fragment_lengths: np.ndarray  # int (bp)
    chunk_fragment: np.ndarray  # int: index of each chunk's fragment
    chunk_numbers: np.ndarray  # int: the chunk's number in its fragment (1-based)
    chunk_scored: np.ndarray  # bool: the chunk kept a frame
    models: dict[str, ModelCalls]


def heldout_calls(
    fragments: Sequence[FragmentRow],
    scores: Mapping[str, Mapping[int, HeldoutScores]],
) -> HeldoutCalls:
    """The calls table from each model's held-out score tables (every seed) and the rows of
    ``fragments.tsv``; refuses models or seeds that scored other chunks or fragments."""
    info = {f.fragment: f for f in fragments}
    order = [f.fragment for f in fragments]
    where = {fid: k for k, fid in enumerate(order)}
    first_model = next(iter(scores))
    ref = next(iter(scores[first_model].values()))
    if list(ref.sequence_ids) != order:
        unknown = sorted(set(ref.sequence_ids) ^ set(order))[:5]
        raise ModelMismatchError(
            f"held-out tables and fragments.tsv disagree (e.g. {unknown}): rerun score_heldout"
        )
    models: dict[str, ModelCalls] = {}
    for model, by_seed in scores.items():
        for seed, s in by_seed.items():
            if (
                s.chunk_sequences != ref.chunk_sequences
                or not np.array_equal(s.chunk_numbers, ref.chunk_numbers)
                or not np.array_equal(s.frames > 0, ref.frames > 0)
                or s.sequence_ids != ref.sequence_ids
            ):
                raise ModelMismatchError(
                    f"{model} seed {seed}: its held-out chunks differ from {first_model}'s: the "
                    "models scored different held-out fragments; rerun score_heldout"
                )
        models[model] = ModelCalls(
            tuple(by_seed),
            np.stack([s.chunk_viral & (s.frames > 0) for s in by_seed.values()]),
            np.stack(
                [
                    np.array([c == VIRAL for c in s.sequence_calls], dtype=bool)
                    for s in by_seed.values()
                ]
            ),
        )
    return HeldoutCalls(
        tuple(order),
        tuple(info[f].genome for f in order),
        np.array([info[f].label for f in order], dtype=int),
        np.array([info[f].length_bp for f in order], dtype=int),
        np.array([where[s] for s in ref.chunk_sequences], dtype=int),
        ref.chunk_numbers.astype(int),
        ref.frames > 0,
        models,
    )


def _rows(calls: HeldoutCalls) -> Iterator[ChunkCall]:
    for model, mc in calls.models.items():
        for k, seed in enumerate(mc.seeds):
            for i, f in enumerate(calls.chunk_fragment.tolist()):
                yield ChunkCall(
                    model,
                    seed,
                    calls.fragment_genomes[f],
                    int(calls.fragment_labels[f]),
                    int(calls.fragment_lengths[f]),
                    calls.fragments[f],
                    int(calls.chunk_numbers[i]),
                    int(calls.chunk_scored[i]),
                    int(mc.chunk_calls[k, i]),
                    int(mc.fragment_calls[k, f]),
                )


def write_calls_table(calls: HeldoutCalls, path: str | os.PathLike[str]) -> None:
    """``calls.tsv`` (atomically, through ``formats.calls``)."""
    CALLS.write(path, _rows(calls))


def read_calls_table(
    path: str | os.PathLike[str], models: Sequence[str] | None = None
) -> HeldoutCalls:
    """Read ``calls.tsv`` back into :class:`HeldoutCalls` (``models``: keep only these, each
    required); one-line errors for a bad row, a model or seed the other model lacks, or seeds
    that list other chunks."""
    keys: dict[tuple[str, int], list[tuple[str, int]]] = {}
    chunk_calls: dict[tuple[str, int], list[int]] = {}
    fragment_calls: dict[tuple[str, int], dict[str, int]] = {}
    scored: dict[tuple[str, int], int] = {}
    fragment_info: dict[str, tuple[str, int, int]] = {}
    for n, row in CALLS.read_numbered(path):
        model = row.model
        if models is not None and model not in models:
            continue
        seed, chunk, label, length = row.seed, row.chunk, row.label, row.fragment_length
        fragment, genome = row.fragment, row.genome
        if not fragment or not genome:
            raise InputError(f"{path}, line {n}: a row needs a fragment and a genome")
        if fragment_info.setdefault(fragment, (genome, label, length)) != (genome, label, length):
            raise InputError(
                f"{path}, line {n}: fragment {fragment} has another genome, label or length "
                "than on its first row"
            )
        key = (model, seed)
        unit = (fragment, chunk)
        if scored.setdefault(unit, row.scored) != row.scored:
            raise InputError(
                f"{path}, line {n}: chunk {chunk} of {fragment} is scored for "
                "one row and not for another"
            )
        if row.call and not row.scored:
            raise InputError(f"{path}, line {n}: an unscored chunk cannot be called viral")
        known = fragment_calls.setdefault(key, {})
        if known.setdefault(fragment, row.fragment_call) != row.fragment_call:
            raise InputError(
                f"{path}, line {n}: fragment {fragment} has two fragment calls for {model} "
                f"seed {seed}"
            )
        keys.setdefault(key, []).append(unit)
        chunk_calls.setdefault(key, []).append(row.call)
    if not keys:
        raise InputError(f"{path}: no rows" + (f" for {', '.join(models)}" if models else ""))
    by_model: dict[str, list[int]] = {}
    for model, seed in keys:
        by_model.setdefault(model, []).append(seed)
    for model in models or []:
        if model not in by_model:
            raise InputError(
                f"{path}: no rows for model {model!r} (models: "
                f"{', '.join(sorted(by_model)) or 'none'})"
            )
    names = list(by_model)
    for model in names:
        for other in names:
            lacking = sorted(set(by_model[model]) - set(by_model[other]))
            if lacking:
                raise InputError(
                    f"{path}: {model} has seed {lacking[0]}, which {other} lacks: both models "
                    "need the same training seeds"
                )
    first = next(iter(keys))
    units = keys[first]
    for key, listed in keys.items():
        if listed != units:
            raise InputError(
                f"{path}: {key[0]} seed {key[1]} lists other chunks (or another order) than "
                f"{first[0]} seed {first[1]}: both models must call the same chunks"
            )
    fragments = list(dict.fromkeys(f for f, _ in units))
    where = {f: k for k, f in enumerate(fragments)}
    return HeldoutCalls(
        tuple(fragments),
        tuple(fragment_info[f][0] for f in fragments),
        np.array([fragment_info[f][1] for f in fragments], dtype=int),
        np.array([fragment_info[f][2] for f in fragments], dtype=int),
        np.array([where[f] for f, _ in units], dtype=int),
        np.array([c for _, c in units], dtype=int),
        np.array([bool(scored[u]) for u in units], dtype=bool),
        {
            model: ModelCalls(
                tuple(seeds),
                np.array([chunk_calls[(model, s)] for s in seeds], dtype=bool),
                np.array(
                    [[fragment_calls[(model, s)][f] for f in fragments] for s in seeds],
                    dtype=bool,
                ),
            )
            for model, seeds in by_model.items()
        },
    )


def calls_strata(
    calls: HeldoutCalls, baseline: str, candidate: str, gated_lengths: Sequence[int]
) -> list[Stratum]:
    """The gate's strata: every scored chunk, and predict's per-sequence call of the
    fragments of each gated length (a length without fragments is an empty stratum, which
    the gate reports as too small)."""
    for model in (baseline, candidate):
        if model not in calls.models:
            raise InputError(
                f"no calls of model {model!r} (have {', '.join(calls.models) or 'none'})"
            )
    b, c = calls.models[baseline], calls.models[candidate]
    scored = np.flatnonzero(calls.chunk_scored)
    frag_of = calls.chunk_fragment[scored]
    out = [
        Stratum(
            CHUNK_STRATUM,
            tuple(calls.fragment_genomes[f] for f in frag_of.tolist()),
            calls.fragment_labels[frag_of],
            b.chunk_calls[:, scored],
            c.chunk_calls[:, scored],
            b.seeds,
            c.seeds,
        )
    ]
    for length in gated_lengths:
        pick = np.flatnonzero(calls.fragment_lengths == int(length))
        out.append(
            Stratum(
                sequence_level_name(int(length)),
                tuple(calls.fragment_genomes[f] for f in pick.tolist()),
                calls.fragment_labels[pick],
                b.fragment_calls[:, pick],
                c.fragment_calls[:, pick],
                b.seeds,
                c.seeds,
            )
        )
    return out
