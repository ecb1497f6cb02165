"""download_refseq against a RefSeq-like HTTP server on loopback (no internet needed)."""

import functools
import gzip
import http.server
import shutil
import threading

import pytest

from conftest import run_snakemake


@pytest.fixture
def server(tmp_path, shared_data):
    root = tmp_path / "release"
    files = {
        "viral/viral.1.genomic.gbff.gz": "NC_001422_phiX174.gbk",
        "plasmid/plasmid.1.genomic.gbff.gz": "NC_005816_Yersinia_pestis_plasmid_pPCP1.gb",
    }
    for rel, src in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(shared_data / "genbank" / src, "rb") as a, gzip.open(root / rel, "wb") as b:
            shutil.copyfileobj(a, b)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, files
    httpd.shutdown()


def test_download_then_dag(server, tmp_path):
    url, root, files = server
    refseq = tmp_path / "refseq"
    sheet = tmp_path / "training.tsv"
    sheet.write_text(
        "dataset\tlabel\tgroup\tgbff\n"
        f"phix\tviral\tviral\t{refseq}/viral/viral.1.genomic.gbff.gz\n"
        f"ppcp1\tnonviral\tbacteria\t{refseq}/plasmid/plasmid.1.genomic.gbff.gz\n"
    )
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"train:\n  datasets: {sheet}\nrefseq_dir: {refseq}\nrefseq_url: {url}\n")
    common = [
        "--configfile",
        "config/standin.yaml",
        str(extra),
        "--config",
        f"outdir={tmp_path / 'o'}",
    ]
    # before the download, the training DAG plans the downloads (training shards are a fixed
    # number, so nothing has to be read to size them)
    proc = run_snakemake("-n", "train", *common)
    assert proc.stdout.count("rule download_refseq:") == len(files)
    run_snakemake("download_refseq_all", "--cores", "1", *common)
    for rel in files:
        assert (refseq / rel).read_bytes() == (root / rel).read_bytes()
    proc = run_snakemake("-n", "train", *common)
    assert "build_training_frames" in proc.stdout
