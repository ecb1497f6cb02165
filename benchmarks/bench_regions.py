"""Region caller: speed on a 10M-chunk track and the sweep behind its default parameters.

python benchmarks/bench_regions.py [--chunks 10000000] [--trials 300]

Prints (1) the seconds call_regions takes on a synthetic sample of 10M chunks (1000 contigs of
10,000 chunks, a third unscored, 3 % host false positives, 15 % viral misses, one 120-chunk
provirus in every other contig), and (2) for each switch probability and noise level: provirus
recall (exactly one region overlapping each planted one), false regions per 10,000 host chunks,
and the median and 90th-percentile boundary error in chunks.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from region_tracks import simulated_calls
from virnucpro_smk.classify.region_model import RegionModel, call_regions
from virnucpro_smk.runtime.config_defaults import schema_defaults

#: the run's default region model: the schema's predict.region_*
MODEL = RegionModel.from_config(schema_defaults("predict"))


def track(n, spans, rng, unscored, fpr, miss):
    return simulated_calls(n, spans, rng, unscored, fpr, miss)


def speed(total_chunks: int) -> None:
    rng = np.random.default_rng(0)
    per = 10_000
    n_seq = total_chunks // per
    calls = np.concatenate(
        [track(per, [(4000, 4119)] if i % 2 else [], rng, 1 / 3, 0.03, 0.15) for i in range(n_seq)]
    )
    offsets = np.arange(n_seq + 1, dtype=np.int64) * per
    t0 = time.perf_counter()
    regions = call_regions(calls, offsets, MODEL)
    seconds = time.perf_counter() - t0
    print(
        f"speed: {len(calls):,} chunks, {n_seq:,} sequences -> {len(regions):,} regions "
        f"in {seconds:.2f} s ({len(calls) / seconds / 1e6:.1f} M chunks/s)"
    )


def sweep(trials: int) -> None:
    print("switch_p  miss  fpr   recall  false/10k_host  median_err  p90_err  (chunks)")
    for p in (1e-2, 1e-3, 1e-4, 1e-5):
        model = replace(MODEL, switch_probability=p)
        for miss, fpr in ((0.1, 0.02), (0.15, 0.03), (0.2, 0.05)):
            rng = np.random.default_rng(1)
            found, errors = 0, []
            for _ in range(trials):
                a = int(rng.integers(200, 700))
                b = a + int(rng.integers(10, 200))
                calls = track(1000, [(a, b)], rng, 1 / 3, fpr, miss)
                r = call_regions(calls, np.array([0, 1000]), model)
                hit = [(f, la) for f, la in zip(r.first, r.last, strict=True) if f <= b and la >= a]
                if len(hit) == 1 and len(r) == 1:
                    found += 1
                    errors += [abs(hit[0][0] - a), abs(hit[0][1] - b)]
            host = track(200_000, [], rng, 1 / 3, fpr, miss)
            false = len(call_regions(host, np.array([0, len(host)]), model)) / 20
            print(
                f"{p:8.0e}  {miss:4.2f}  {fpr:4.2f}  {found / trials:6.3f}  {false:14.2f}  "
                f"{np.median(errors):10.1f}  {np.percentile(errors, 90):7.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000_000)
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args()
    speed(args.chunks)
    sweep(args.trials)


if __name__ == "__main__":
    main()
