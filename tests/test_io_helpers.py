"""The one opener of maybe-gzipped inputs and the one file hash the package uses."""

import gzip
import hashlib
import subprocess

import pytest

from virnucpro_smk.errors import InputError
from virnucpro_smk.io.compressed import open_input, reading
from virnucpro_smk.io.hashing import file_sha256, files_sha256


def test_gzip_is_detected_by_content_not_by_name(tmp_path):
    hidden = tmp_path / "reads.fa"  # gzip inside, no .gz suffix
    hidden.write_bytes(gzip.compress(b">a\nACGT\n"))
    fake = tmp_path / "plain.fa.gz"  # plain text despite the suffix
    fake.write_bytes(b">b\nTTTT\r\n")
    with open_input(hidden, text=True) as handle:
        assert handle.read() == ">a\nACGT\n"
    with open_input(fake, text=True) as handle:
        assert handle.read() == ">b\nTTTT\n"  # universal newlines
    with open_input(fake) as handle:
        assert handle.read() == b">b\nTTTT\r\n"


def test_missing_directory_and_truncated_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match=r"nope\.fa: file not found"):
        open_input(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="is a directory"):
        open_input(tmp_path)
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(gzip.compress(b">a\n" + b"ACGT" * 5000)[:-20])
    match = r"cut\.fa\.gz: corrupt or truncated gzip file"
    with pytest.raises(InputError, match=match), open_input(cut) as handle, reading(cut):
        handle.read()


def test_file_sha256_is_sha256sum(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(bytes(range(256)) * 1000)
    expected = subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True)
    assert file_sha256(path) == expected.stdout.split()[0]
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_files_sha256_sees_names_and_contents_not_order(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.write_bytes(b"first")
    b.write_bytes(b"second")
    digest = files_sha256([a, b])
    assert files_sha256([b, a]) == digest
    a.write_bytes(b"second")
    b.write_bytes(b"first")
    assert files_sha256([a, b]) != digest, "swapped contents must change the digest"
