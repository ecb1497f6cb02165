"""What an extraction job does before its first batch: tokenizing the shard vs planning it.

    RAYON_NUM_THREADS=1 python benchmarks/bench_batch_plan.py [--chunks 150000]

For the kept frames of synthetic 300-bp chunks it times the old start of a job (every record
tokenized, batches planned on exact counts) against ``batch_plan.plan_batches`` (protein:
exact counts from lengths; DNA: a tokenized sample and estimates), with the DNA tokenizer the
benchmarks use (4096-token BPE, like DNABERT-2's vocabulary size) and the bench_workflow
budgets. It also prints what the plan costs: batches, forward passes after the workers pack
each batch by real counts, and padded tokens against the exact plan's. It prints figures and
asserts nothing. ``RAYON_NUM_THREADS=1``: one core, as a job whose tokenizer threads compete
with its DataLoader workers.
"""

from __future__ import annotations

import argparse
import time

from bench_embeddings import workload
from virnucpro_smk.models.batch_plan import (
    BatchTokenizer,
    DnaTokens,
    EsmTokens,
    plan_batches,
    token_budget_batches,
)
from virnucpro_smk.models.esm import EsmTokenizer
from virnucpro_smk.models.standin import build_dna_tokenizer

BUDGETS = {"dna": 131072, "protein": 32768}  # bench_workflow's DNABERT-S / FastESM2_650


def compare(name: str, tokenizer: BatchTokenizer, seqs: list[str], budget: int) -> None:
    start = time.perf_counter()
    exact = [len(t) for t in tokenizer(seqs)]
    old = token_budget_batches(exact, budget)
    old_s = time.perf_counter() - start
    start = time.perf_counter()
    new = plan_batches(tokenizer, seqs, budget)
    new_s = time.perf_counter() - start
    padded_old = sum(len(b) * max(exact[i] for i in b) for b in old)
    passes = [
        [[b[k] for k in p] for p in token_budget_batches([exact[i] for i in b], budget)]
        for b in new
    ]
    padded_new = sum(len(p) * max(exact[i] for i in p) for ps in passes for p in ps)
    print(
        f"{name:<8} tokenize + plan {old_s:6.2f} s | plan {new_s:6.3f} s | batches "
        f"{len(old)} -> {len(new)} ({sum(len(ps) for ps in passes)} forward passes) | padded "
        f"tokens {padded_old:,} -> {padded_new:,} ({100 * (padded_new / padded_old - 1):+.1f} %)"
        f" | real tokens {sum(exact):,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=150_000)
    args = parser.parse_args()
    dna, protein = workload(args.chunks)
    print(f"{args.chunks} chunks of 300 bp -> {len(dna)} kept frames")
    compare("dna", DnaTokens(build_dna_tokenizer(4096, seed=0)), dna, BUDGETS["dna"])
    compare("protein", EsmTokens(EsmTokenizer(1024)), protein, BUDGETS["protein"])


if __name__ == "__main__":
    main()
