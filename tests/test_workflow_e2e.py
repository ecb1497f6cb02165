"""End-to-end runs of the workflow on the bundled example with stand-in models."""

import csv
import json
import os

import pytest

from conftest import ROOT, run_snakemake

pytestmark = pytest.mark.slow


def test_predict_target_writes_every_output(standin_run):
    results, _ = standin_run
    from virnucpro_smk.io.fasta import read_nucleotide_fasta
    from virnucpro_smk.preprocess.chunking import chunk_spans

    inputs = {r.id: r.seq for r in read_nucleotide_fasta(ROOT / "resources/example/contigs.fasta")}
    for pair in ("standin_dnabert_48d+standin_esm2_64d", "standin_dnabert_48d+standin_fastesm_32d"):
        folder = results / "samples" / "example" / "chunk300" / pair
        with open(folder / "per_sequence.tsv") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        assert [r["sequence_id"] for r in rows] == list(inputs)
        assert {r["call"] for r in rows} <= {
            "viral",
            "provirus",
            "nonviral",
            "too few scored chunks",
            "no coding frame",
        }
        assert any(r["call"] == "no coding frame" for r in rows)  # the 250-bp contig
        with open(folder / "per_chunk.tsv") as handle:
            chunks = list(csv.DictReader(handle, delimiter="\t"))
        # every chunk of every input, at the coordinates the chunker placed it (1-based)
        expected = [
            (rid, str(s + 1), str(e))
            for rid, seq in inputs.items()
            for s, e in chunk_spans(len(seq), 300)
        ]
        assert [(c["sequence_id"], c["start"], c["end"]) for c in chunks] == expected
        with open(folder / "predictions.tsv") as handle:
            frames = list(csv.DictReader(handle, delimiter="\t"))
        n_frames = (
            (results / "samples/example/chunk300/frames/identified_protein.faa")
            .read_text()
            .count(">")
        )
        assert len(frames) == n_frames
        assert sum(int(c["frames_kept"]) for c in chunks) == n_frames
        # viral.fna holds exactly the input sequences called viral, unchanged
        viral = {r["sequence_id"] for r in rows if r["call"] == "viral"}
        written = (
            {r.id: r.seq for r in read_nucleotide_fasta(folder / "viral.fna")} if viral else {}
        )
        assert written == {rid: inputs[rid] for rid in viral}
        assert (folder / "scores.png").stat().st_size > 1000
        # regions.tsv: spans of per_chunk.tsv chunks, inside the sequence; viral_regions.fna
        # holds exactly their bases; per_sequence.tsv counts them
        with open(folder / "regions.tsv") as handle:
            regions = list(csv.DictReader(handle, delimiter="\t"))
        starts = {(c["sequence_id"], c["start"]) for c in chunks}
        ends = {(c["sequence_id"], c["end"]) for c in chunks}
        for region in regions:
            sid, start, end = region["sequence_id"], region["start"], region["end"]
            assert (sid, start) in starts and (sid, end) in ends
            assert 1 <= int(start) <= int(end) <= len(inputs[sid])
            assert (region["kind"] == "whole") == (int(end) - int(start) + 1 == len(inputs[sid]))
        cut = {f"{r['sequence_id']}:{r['start']}-{r['end']}": r for r in regions}
        got = {r.id: r.seq for r in read_nucleotide_fasta(folder / "viral_regions.fna")}
        assert got == {
            k: inputs[r["sequence_id"]][int(r["start"]) - 1 : int(r["end"])] for k, r in cut.items()
        }
        per_seq = {r["sequence_id"]: int(r["regions"]) for r in rows}
        assert sum(per_seq.values()) == len(regions)
        # one story per sequence: a whole region exactly for each sequence called viral (the
        # records of viral.fna), proviruses only in sequences called provirus, nothing else
        call = {r["sequence_id"]: r["call"] for r in rows}
        assert all(
            region["kind"] == {"viral": "whole", "provirus": "provirus"}.get(call[sid])
            for region in regions
            for sid in [region["sequence_id"]]
        ), [(r["sequence_id"], r["kind"], call[r["sequence_id"]]) for r in regions]
        whole = [r["sequence_id"] for r in regions if r["kind"] == "whole"]
        assert whole == [sid for sid in inputs if call[sid] == "viral"] == list(written)
    with open(results / "summary.tsv") as handle:
        summary = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["model"] for r in summary] == [
        "300bp_standin_dnabert_48d+standin_esm2_64d_112d",
        "300bp_standin_dnabert_48d+standin_fastesm_32d_80d",
    ]
    assert all(int(r["sequences"]) == len(inputs) for r in summary)


def test_docs_quote_the_jobs_make_example_runs(standin_run):
    """Every "N jobs" of `make example` in the README and docs/ is the count this run (the
    Makefile's command) finished: the README said 23 while 29 ran."""
    import re
    import shlex

    from doc_pages import doc_pages

    from conftest import EXAMPLE_ARGS

    make = (ROOT / "Makefile").read_text()
    example = re.search(r"^example:.*\n\t\$\(BIN\)/snakemake (.+)$", make, re.M).group(1)
    assert tuple(shlex.split(example.replace("$(CORES)", "2"))) == EXAMPLE_ARGS
    _, proc = standin_run
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
    quoted = [
        int(n)
        for page in doc_pages()
        for n in re.findall(r"s of workflow: (\d+) jobs", page.read_text())
    ]
    assert done and quoted and set(quoted) == {int(done[-1][1])}, (quoted, done[-1])


def test_classifiers_carry_their_identity(standin_run):
    results, _ = standin_run
    metas = {
        p.parent.name: json.loads(p.read_text())
        for p in (results / "models").glob("*/metadata.json")
    }
    assert set(metas) == {
        "300bp_standin_dnabert_48d+standin_esm2_64d_112d",
        "300bp_standin_dnabert_48d+standin_fastesm_32d_80d",
    }
    a, b = metas.values()
    assert a["manifest_sha256"] == b["manifest_sha256"], "both models train on the same records"
    assert {a["input_width"], b["input_width"]} == {112, 80}
    assert a["test_metrics"]["accuracy"] > 0.8


def test_input_errors_surface_without_traceback(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">p1\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbad\t{bad}\n")
    proc = run_snakemake(
        "preprocess",
        "--cores",
        "1",
        "--config",
        f"samples={sheet}",
        f"outdir={tmp_path / 'o'}",
        check=False,
    )
    assert proc.returncode != 0
    log = (tmp_path / "o/logs/preprocess_sample/bad_chunk300.log").read_text()
    assert "looks like a protein sequence" in log
    assert "Traceback" not in log
    assert not (tmp_path / "o/samples/bad/chunk300/chunked.fa").exists()


def _copy_finished_run(results, out):
    """``results`` copied to ``out`` with mtimes kept (Snakemake sees finished work), less
    the logs: what a second target run there adds is then only its own jobs."""
    import shutil

    shutil.copytree(results, out, ignore=shutil.ignore_patterns("logs"))
    return out


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory, standin_run):
    """`snakemake compare` with stand-in models (the README's command), on a copy of the
    stand-in `predict` run: both targets share the manifest and the classifiers, so the
    comparison adds only its own jobs (held-out fragments, their extraction and scoring, the
    timed runs, the report). The stand-in models are the ones `standin_run` built."""
    results = _copy_finished_run(standin_run[0], tmp_path_factory.mktemp("compare") / "results")
    run_snakemake(
        "compare",
        "--cores",
        "2",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={results}",
        f"models_dir={standin_run[0].parent / 'models'}",
    )
    return results


def test_compare_adds_only_its_own_jobs(compare_run):
    logs = {p.name for p in (compare_run / "logs").iterdir()}
    assert "train_classifier" not in logs and "build_training_set" not in logs
    assert {"cut_test_fragments", "score_heldout", "time_predict", "compare_models"} <= logs


def test_genbank_training_data_through_the_workflow(tmp_path, shared_data, standin_run):
    """The ../shared GenBank files as training datasets, up to the drawn manifest: the
    training-mode builder inside the workflow, genome maps and species clusters.

    The four GenBank files hold one genome each, so DeepVirFinder's 3-kb fragments (100
    viral, 100 host records) join them: every split then holds genomes of both labels."""
    gb = shared_data / "genbank"
    sheet = tmp_path / "training.tsv"
    t4_fna, t4_gbff = gb / "derived_fasta/NC_000866_phage_T4.fna", gb / "NC_000866_phage_T4.gbff"
    sheet.write_text(
        "dataset\tlabel\tgroup\tfasta\tgbff\n"
        f"t4\tviral\tviral\t{t4_fna}\t{t4_gbff}\n"
        f"phix\tviral\tviral\t\t{gb / 'NC_001422_phiX174.gbk'}\n"
        f"ppcp1\tnonviral\tbacteria\t\t{gb / 'NC_005816_Yersinia_pestis_plasmid_pPCP1.gb'}\n"
        f"chloroplast\tnonviral\tplant\t\t{gb / 'NC_000932_Arabidopsis_chloroplast.gb'}\n"
        f"dvf_virus\tviral\tviral\t{shared_data / 'dvf_virus_val.fa'}\t\n"
        f"dvf_host\tnonviral\tbacteria\t{shared_data / 'dvf_host_val.fa'}\t\n"
    )
    out = tmp_path / "results"
    manifest = out / "training/chunk300/training_manifest.json"
    run_snakemake(
        str(manifest),
        "--cores",
        "2",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={out}",
        f"models_dir={standin_run[0].parent / 'models'}",
        f"train={{datasets: {sheet}}}",
    )
    summary = json.loads(manifest.read_text())
    assert set(summary["records_shared_between_splits"].values()) == {0}
    assert set(summary["genomes_shared_between_splits"].values()) == {0}
    assert {"viral", "bacteria", "plant"} <= set(summary["used_by_group"])
    # the builder kept only frames found in annotated proteins (T4: 291 at 300 bp)
    t4 = out / "training/chunk300/datasets/t4/frames/identified_protein.faa"
    assert t4.read_text().count(">") == 291
    # DVF's fragments of T4 (species clusters at 95 % ANI) share T4's cluster
    clusters = out / "training/chunk300/genome_clusters.tsv"
    with open(clusters) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    t4_cluster = {r["cluster"] for r in rows if r["genome"].startswith("NC_000866")}
    assert len(t4_cluster) == 1
    assert sum(r["cluster"] in t4_cluster for r in rows) > 1


def test_compare_writes_the_report(compare_run):
    reports = compare_run / "reports"
    data = json.loads((reports / "comparison_chunk300.json").read_text())
    assert data["same_manifest"] and data["test_frames"] > 0
    assert set(data["models"]) == {"standin_esm2_64d", "standin_fastesm_32d"}
    # accuracy on what predict sees: the held-out fragments' chunks (every stop-free frame)
    # and one sequence level per fragment length; the annotated-CDS frames for context
    assert data["level_names"][:3] == ["frame", "chunk", "sequence_1kb"]
    assert all(n.startswith("sequence_") for n in data["level_names"][2:])
    assert data["heldout"]["fragments"] == data["test_sequences"] > 0
    assert data["heldout"]["chunks_without_frame"] > 0  # counted, never silently dropped
    # three verdicts; stand-ins make the decision inconclusive, whatever the figures
    assert data["decision"] == "inconclusive" and data["standin_models"] == [
        "standin_dnabert_48d",
        "standin_esm2_64d",
        "standin_fastesm_32d",
    ]
    assert "stand-in models compared" in data["decision_reasons"][0]
    assert data["accuracy"] in ("non_inferior", "inferior", "inconclusive")
    assert list(data["accuracy_test"]["strata"]) == [
        "chunk",
        "sequence_1kb",
        "sequence_3kb",
        "sequence_10kb",
    ]
    assert any("3 baseline and 3 candidate seed(s)" in r for r in data["accuracy_reasons"])
    # speed from one dedicated end-to-end run per model (speed_repeats: 1): too few repeats
    assert data["speed"] == "inconclusive" and "at least 3 needed" in data["speed_reasons"][0]
    runs = data["speed_test"]["runs"]
    assert [r["model"] for r in runs] == ["standin_esm2_64d", "standin_fastesm_32d"]
    for run in runs:
        assert set(run["stage_seconds"]) == {"preprocess", "dna", "protein", "predict"}
        assert all(v > 0 for v in run["stage_seconds"].values()) and run["device"] == "cpu"
        assert len(run["loadavg_before"]) == 3 and run["outside_load"] is not None
    assert data["speedup"] == data["speed_test"]["speedup"] > 0
    for model in data["models"].values():  # in-job figures read from the jobs' stats JSON
        speed = model["extraction"]
        assert speed["records"] > 0 and speed["tokens"] > 0 and speed["embed_seconds"] > 0
        assert speed["load_seconds"] is not None and speed["devices"] == ["cpu"]
    groups = data["models"]["standin_fastesm_32d"]["per_group"]
    assert set(groups) == {"groupA", "groupB"}  # config/example_training.tsv
    assert data["seeds"]["candidate"] == [42, 43, 44]
    assert set(data["margins"]) == {"sensitivity", "false_positive_rate_ratio"}
    assert set(data["low_prevalence_precision"]) == {"0.01", "0.1"}
    assert all(check["ok"] for check in data["checks"]), data["checks"]
    manifest = data["manifest"]
    assert set(manifest["records_shared_between_splits"].values()) == {0}
    assert set(manifest["genomes_shared_between_splits"].values()) == {0}
    # the calls the accuracy verdict read: one row per held-out chunk per model per seed
    with open(reports / "calls_chunk300.tsv") as handle:
        calls = list(csv.DictReader(handle, delimiter="\t"))
    chunks = data["heldout"]["chunks"]
    assert len(calls) == chunks * 2 * 3 and {r["seed"] for r in calls} == {"42", "43", "44"}
    md = (reports / "comparison_chunk300.md").read_text()
    assert md.startswith("# standin_esm2_64d vs standin_fastesm_32d")
    assert "STAND-IN MODELS" in md.split("**Decision")[0]  # the banner before the verdicts
    assert "**accuracy: " in md and "**speed: inconclusive**" in md and "Per chunk" in md
    assert "Accuracy verdict: every gated stratum" in md and "Speed verdict" in md
    assert "Per fragment length (what a user gets from predict)" in md


def test_snakemake_report_includes_the_figures(compare_run, standin_run, tmp_path):
    import zipfile

    results = compare_run
    report = tmp_path / "report.zip"
    run_snakemake(
        "compare",
        "--report",
        str(report),
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={results}",
        f"models_dir={standin_run[0].parent / 'models'}",
    )
    names = zipfile.ZipFile(report).namelist()
    assert any(n.endswith("roc_pr_chunk300.png") for n in names)
    assert any(n.endswith("comparison_chunk300.html") for n in names)


def test_report_renders_in_headless_chromium(compare_run, tmp_path):
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide chromium (make system-deps)")
        pytest.skip("chromium is not installed (make system-deps installs it)")
    page = compare_run / "reports" / "comparison_chunk300.html"
    shot = tmp_path / "report.png"
    headless = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*headless, "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<img" in dom and "data:image/png;base64," in dom
    subprocess.run(
        [*headless, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    # the embedded figure decodes to a real image of the curves
    import base64
    import re

    data = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", dom).group(1)
    assert base64.b64decode(data)[:4] == b"\x89PNG"
