"""Command line: explicit, one-off operations that do not belong in the DAG.

virnucpro-smk convert-legacy 300_model.pth --chunk-length 300 --out DIR --allow-pickle
virnucpro-smk make-example resources/example
virnucpro-smk reference-from-original output_1_ESM.pt frames.faa --out ref.safetensors --model ...
virnucpro-smk regions per_chunk.tsv --out regions.tsv [--sequences sequences.tsv]
virnucpro-smk decide calls_chunk300.tsv --baseline NAME --candidate NAME [--margin ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .errors import VirNucProError
from .runtime.config_defaults import schema_defaults
from .runtime.logs import setup_logging


def convert_legacy(args: argparse.Namespace) -> None:
    """Original whole-module classifier -> model.safetensors + metadata.json."""
    from .classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint
    from .io.hashing import file_sha256
    from .io.legacy import load_legacy_classifier

    state = load_legacy_classifier(args.checkpoint, allow_pickle=args.allow_pickle)
    width = state["hidden_layer.weight"].shape[1]
    identity = CheckpointIdentity(
        dna_model=args.dna_model,
        dna_width=args.dna_width,
        protein_model=args.protein_model,
        protein_width=width - args.dna_width,
        chunk_length=args.chunk_length,
        dna_revision=None,
        protein_revision=None,
    )
    if f"_{identity.protein_width}d" not in args.protein_model:
        raise VirNucProError(
            f"{args.checkpoint} takes {width} inputs: {args.dna_width} DNA + "
            f"{identity.protein_width} protein, which does not fit {args.protein_model}"
        )
    model = MLPClassifier(width, state["hidden_layer.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    save_checkpoint(
        model,
        Path(args.out) / "model.safetensors",
        identity,
        legacy_source=str(args.checkpoint),
        legacy_sha256=file_sha256(args.checkpoint),
        note="converted from an original VirNucPro pickled module",
    )
    print(f"wrote {Path(args.out) / 'model.safetensors'} ({width} inputs)")


def train(args: argparse.Namespace) -> None:
    """Train a classifier from a TSV of embedding shard pairs (dna, protein, label[, group])."""
    from .classify.recipe import TrainConfig
    from .classify.train import train_from_shard_table
    from .preprocess.genome_splits import SplitSettings

    section = {**schema_defaults("train"), "seed": args.seed}  # the rest: the schema's
    metrics = train_from_shard_table(
        args.shards,
        args.dna_model,
        args.protein_model,
        args.out,
        TrainConfig.from_config({**section["recipe"], "max_epochs": args.max_epochs}, args.seed),
        SplitSettings.from_config(section),
    )
    print(f"wrote {Path(args.out) / 'model.safetensors'}; test metrics: {metrics}")


def make_example(args: argparse.Namespace) -> None:
    from .preprocess.synthetic import main as synthetic_main

    synthetic_main([str(args.directory)])


def reference_from_original(args: argparse.Namespace) -> None:
    """An original VirNucPro run's vectors (``*_DNABERT_S.pt`` / ``*_ESM.pt``, the FASTA it
    embedded) -> a reference file that `snakemake verify_models` checks a model against."""
    from .models.verify import reference_from_virnucpro

    path = reference_from_virnucpro(
        args.vectors,
        args.fasta,
        args.out,
        model=args.model,
        source=args.source,
        kind=args.kind,
        origin=args.origin,
    )
    print(path)


def regions(args: argparse.Namespace) -> None:
    """Viral regions (proviruses) from any per_chunk.tsv, as predict writes regions.tsv."""
    from .classify.calls import CallThresholds
    from .classify.region_files import regions_from_per_chunk
    from .classify.region_model import RegionModel

    try:
        model = RegionModel(args.sensitivity, args.false_positive_rate, args.switch_probability)
    except ValueError as exc:
        raise VirNucProError(str(exc)) from None
    for name in ("min_viral_fraction", "min_scored_fraction"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise VirNucProError(f"--{name.replace('_', '-')} must lie between 0 and 1")
    thresholds = CallThresholds.from_config(vars(args))
    rows = regions_from_per_chunk(args.per_chunk, args.out, args.sequences, model, thresholds)
    proviruses = sum(row.kind == "provirus" for row in rows)
    print(f"wrote {args.out}: {len(rows)} region(s), {proviruses} provirus(es)")


def decide(args: argparse.Namespace) -> None:
    """Recompute the accuracy verdict from a held-out calls table (the comparison's
    calls_chunk<L>.tsv) at your own margins and prevalences; prints the report's JSON fields."""
    from .report.comparison_page import finite
    from .report.heldout_calls import calls_strata, read_calls_table
    from .report.noninferiority import AccuracySettings, accuracy_fields, accuracy_test

    compare = schema_defaults("compare")  # the schema is the one home of the defaults
    margins = dict(compare["margins"])
    for item in args.margin or []:
        name, _, value = item.partition("=")
        if name not in margins or not value:
            raise VirNucProError(
                f"--margin {item!r}: give NAME=VALUE, NAME one of {', '.join(margins)}"
            )
        try:
            margins[name] = float(value)
        except ValueError:
            raise VirNucProError(f"--margin {item!r}: {value!r} is not a number") from None
    given = {
        "fpr_floor": args.fpr_floor,
        "min_test_genomes": args.min_test_genomes,
        "min_seeds": args.min_seeds,
        "bootstrap": args.bootstrap,
        "seed": args.seed,
        "prevalences": args.prevalence,
    }
    compare.update({k: v for k, v in given.items() if v is not None}, margins=margins)
    settings = AccuracySettings.from_config(compare)
    if settings.sensitivity_margin <= 0 or settings.fpr_ratio_margin <= 1:
        raise VirNucProError("margins: sensitivity > 0 and false_positive_rate_ratio > 1")
    if any(not 0 < p < 1 for p in settings.prevalences):
        raise VirNucProError("--prevalence: a viral fraction between 0 and 1")
    calls = read_calls_table(args.calls, [args.baseline, args.candidate])
    lengths = args.gated_lengths or compare["gated_lengths"]
    result = accuracy_test(calls_strata(calls, args.baseline, args.candidate, lengths), settings)
    out = {"baseline": args.baseline, "candidate": args.candidate, **accuracy_fields(result)}
    print(json.dumps(finite(out), indent=1, allow_nan=False))


def parser() -> argparse.ArgumentParser:
    """The command line; options that set a config key default to the schema's value."""
    predict, train_section = schema_defaults("predict"), schema_defaults("train")
    parser = argparse.ArgumentParser(prog="virnucpro-smk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert-legacy", help=convert_legacy.__doc__)
    conv.add_argument("checkpoint", type=Path, help="300_model.pth or 500_model.pth")
    conv.add_argument("--chunk-length", type=int, required=True, choices=None)
    conv.add_argument("--out", type=Path, required=True, help="output directory")
    # the models the original's published classifiers were trained on (a fact of the file)
    conv.add_argument("--dna-model", default="dnaberts_768d")
    conv.add_argument("--dna-width", type=int, default=768)
    conv.add_argument("--protein-model", default="esm2_3b_2560d")
    conv.add_argument(
        "--allow-pickle",
        action="store_true",
        help="required: loading the file executes pickle code",
    )
    conv.set_defaults(func=convert_legacy)
    tr = sub.add_parser("train", help=train.__doc__)
    tr.add_argument("--shards", type=Path, required=True, help="TSV: dna, protein, label[, group]")
    tr.add_argument("--dna-model", required=True)
    tr.add_argument("--protein-model", required=True)
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument("--seed", type=int, default=train_section["seed"], help="default: train.seed")
    tr.add_argument(
        "--max-epochs",
        type=int,
        default=train_section["recipe"]["max_epochs"],
        help="default: train.recipe.max_epochs (the rest of the recipe and split: the schema's)",
    )
    tr.set_defaults(func=train)
    ex = sub.add_parser("make-example", help="write the synthetic bundled example")
    ex.add_argument("directory", type=Path)
    ex.set_defaults(func=make_example)
    ref = sub.add_parser(
        "reference-from-original", help=reference_from_original.__doc__.splitlines()[0]
    )
    ref.add_argument("vectors", type=Path, help="the original's output_*_DNABERT_S.pt or _ESM.pt")
    ref.add_argument("fasta", type=Path, help="the frames it embedded (identified_*.fa/.faa)")
    ref.add_argument("--out", type=Path, required=True, help="reference .safetensors to write")
    ref.add_argument("--model", required=True, help="registry name, e.g. esm2_3b_2560d")
    ref.add_argument("--source", required=True, help="hub id the original ran")
    ref.add_argument("--kind", required=True, choices=("dna", "protein"))
    ref.add_argument("--origin", required=True, help="where the figures come from (provenance)")
    ref.set_defaults(func=reference_from_original)
    reg = sub.add_parser("regions", help=regions.__doc__)
    reg.add_argument("per_chunk", type=Path, help="per_chunk.tsv as predict writes it")
    reg.add_argument("--out", type=Path, required=True, help="regions.tsv to write")
    reg.add_argument(
        "--sequences",
        type=Path,
        help="sequences.tsv or per_sequence.tsv (sequence_id, length_bp): checks that no "
        "chunk ends past its sequence's end",
    )
    for option in ("sensitivity", "false_positive_rate", "switch_probability"):
        reg.add_argument(
            f"--{option.replace('_', '-')}",
            type=float,
            default=predict[f"region_{option}"],
            help=f"the run's predict.region_{option}",
        )
    reg.add_argument(
        "--min-viral-fraction",
        type=float,
        default=predict["min_viral_fraction"],
        help="the run's predict.min_viral_fraction: a sequence called viral is one whole region",
    )
    reg.add_argument(
        "--min-scored-fraction",
        type=float,
        default=predict["min_scored_fraction"],
        help="the run's predict.min_scored_fraction",
    )
    reg.set_defaults(func=regions)
    dec = sub.add_parser("decide", help=decide.__doc__.splitlines()[0])
    dec.add_argument("calls", type=Path, help="calls_chunk<L>.tsv as the comparison writes it")
    dec.add_argument("--baseline", required=True, help="the reference model (column model)")
    dec.add_argument("--candidate", required=True, help="the model under test")
    dec.add_argument(
        "--margin",
        action="append",
        metavar="NAME=VALUE",
        help="sensitivity=0.02 or false_positive_rate_ratio=1.5 (repeatable; default: the "
        "schema's compare.margins)",
    )
    dec.add_argument(
        "--prevalence",
        action="append",
        type=float,
        help="viral fraction for the precision context (repeatable; default: compare.prevalences)",
    )
    dec.add_argument("--gated-lengths", type=int, nargs="+", help="default: compare.gated_lengths")
    dec.add_argument("--fpr-floor", type=float, help="default: compare.fpr_floor")
    dec.add_argument("--min-test-genomes", type=int, help="default: compare.min_test_genomes")
    dec.add_argument("--min-seeds", type=int, help="default: compare.min_seeds")
    dec.add_argument("--bootstrap", type=int, help="resamples; default: compare.bootstrap")
    dec.add_argument("--seed", type=int, help="bootstrap seed; default: compare.seed")
    dec.set_defaults(func=decide)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging()
    try:
        args.func(args)
    except VirNucProError as exc:
        logging.getLogger("virnucpro_smk").error("%s", exc)
        return 1
    except OSError as exc:  # the machine's, not the input's: a full disk, a lost mount
        where = f"{exc.filename}: " if exc.filename else ""
        logging.getLogger("virnucpro_smk").error("%s%s", where, exc.strerror or exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
