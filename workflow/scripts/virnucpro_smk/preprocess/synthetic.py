"""Deterministic synthetic contigs for the bundled example, benchmarks and tests.

The bundled example must not reuse third-party sequence data (licences differ), so it is
generated: contigs made of open reading frames (stop-free codon runs ending in a stop) on
both strands, separated by short random spacers. Two synthetic "groups" differ in codon
usage (GC-rich vs AT-rich) so that a classifier has something to learn in demos. None of
these sequences is biological.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

from ..io.atomic import atomic_open
from ..io.fasta import wrap

_STOPS = {"TAA", "TAG", "TGA"}
SENSE_CODONS = [
    a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in _STOPS
]
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def codon_weights(gc_bias: float) -> list[float]:
    """Weights of SENSE_CODONS: each G or C multiplies a codon's weight by ``gc_bias``."""
    return [(gc_bias ** sum(ch in "GC" for ch in c)) for c in SENSE_CODONS]


def synthetic_contig(
    rng: random.Random,
    length: int,
    gc_bias: float = 1.0,
    orf_codons: tuple[int, int] = (60, 400),
) -> str:
    """A contig of ``length`` bp made of ORFs on both strands with random spacers.

    ``orf_codons`` bounds the ORF lengths: longer ORFs mean more chunks inside one, so more
    kept frames per chunk (benchmarks tune it to match real data's rate).
    """
    weights = codon_weights(gc_bias)
    parts: list[str] = []
    total = 0
    while total < length:
        n_codons = rng.randint(*orf_codons)
        orf = (
            "ATG"
            + "".join(rng.choices(SENSE_CODONS, weights=weights, k=n_codons))
            + rng.choice(sorted(_STOPS))
        )
        if rng.random() < 0.5:
            orf = orf.translate(_COMPLEMENT)[::-1]
        spacer = "".join(rng.choices("ACGT", k=rng.randint(5, 60)))
        parts.append(orf + spacer)
        total += len(orf) + len(spacer)
    return "".join(parts)[:length]


def example_records(seed: int = 7, n: int = 12) -> Iterator[tuple[str, str, str]]:
    """(id, group, sequence) of the bundled example: two groups, lengths 250 bp to 6 kb."""
    rng = random.Random(seed)
    for i in range(n):
        group = "groupA" if i % 2 == 0 else "groupB"
        bias = 2.0 if group == "groupA" else 0.5
        length = 250 if i == n - 1 else rng.randint(800, 6000)
        yield f"synthetic_{group}_{i + 1:02d}", group, synthetic_contig(rng, length, bias)


def training_records(group: str, seed: int, n: int = 40) -> Iterator[tuple[str, str, str]]:
    """Synthetic labelled training contigs for the demo classifier (2-4 kb each)."""
    rng = random.Random(seed)
    bias = 2.0 if group == "groupA" else 0.5
    for i in range(n):
        yield (
            f"train_{group}_{i + 1:03d}",
            group,
            synthetic_contig(rng, rng.randint(2000, 4000), bias),
        )


def write_fasta_records(path: str | Path, records: Iterator[tuple[str, str, str]]) -> int:
    n = 0
    with atomic_open(path) as out:
        for rid, group, seq in records:
            out.write(f">{rid} synthetic {group} (not biological)\n{wrap(seq)}\n")
            n += 1
    return n


#: ORF lengths (codons) whose 300-bp chunks keep 0.88 frames each, like real inputs (0.87).
BENCHMARK_ORF_CODONS = (150, 900)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="e.g. resources/example")
    args = parser.parse_args(argv)
    args.directory.mkdir(parents=True, exist_ok=True)
    files = {
        "contigs.fasta": example_records(seed=7),
        "train_groupA.fasta": training_records("groupA", seed=101),
        "train_groupB.fasta": training_records("groupB", seed=202),
    }
    for name, records in files.items():
        n = write_fasta_records(args.directory / name, records)
        print(f"wrote {n} synthetic contigs to {args.directory / name}")


if __name__ == "__main__":
    main()
