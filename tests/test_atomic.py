import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from virnucpro_smk.io.atomic import atomic_open, atomic_path, write_text_atomic


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), atomic_open(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_rewrite(tmp_path):
    target = tmp_path / "out.tsv"
    write_text_atomic(target, "complete\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "complete\n"


def test_killed_writer_leaves_only_a_hidden_temp_that_the_next_writer_removes(tmp_path):
    target = tmp_path / "out.fa"
    scripts = str(ROOT / "workflow" / "scripts")
    code = (
        "import os, signal, sys\n"
        f"sys.path.insert(0, {scripts!r})\n"
        "from virnucpro_smk.io.atomic import atomic_open\n"
        f"with atomic_open({str(target)!r}) as out:\n"
        "    out.write('>a\\nACGT\\n'); out.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".out.fa.")
    write_text_atomic(target, ">a\nACGT\n")
    assert [p.name for p in tmp_path.iterdir()] == ["out.fa"]
    # ordinary permissions (what open() gives under this umask), not mkstemp's private 0600
    plain = tmp_path / "plain.fa"
    plain.write_text("")
    assert oct(target.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777)


def test_files_follow_the_umask_whoever_wrote_them(tmp_path):
    """safetensors' save_file recreates the file it is given (mode 0600 then): the atomic
    writer still leaves what open() gives under the umask, e.g. 0644 under umask 022."""
    import torch
    from safetensors.torch import save_file

    import virnucpro_smk.io.atomic as atomic

    plain = tmp_path / "plain"
    plain.write_text("")
    expected = plain.stat().st_mode & 0o777
    assert expected == atomic.FILE_MODE
    target = tmp_path / "x.safetensors"
    with atomic_path(target) as tmp:
        save_file({"x": torch.zeros(2)}, str(tmp))
    recreated = tmp_path / "y.bin"
    with atomic_path(recreated) as tmp:
        tmp.unlink()
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600))
    assert [oct(p.stat().st_mode & 0o777) for p in (target, recreated)] == [oct(expected)] * 2


def test_umask_022_gives_group_and_world_readable_files(tmp_path):
    scripts = str(ROOT / "workflow" / "scripts")
    code = (
        "import os, sys\n"
        "os.umask(0o022)\n"
        f"sys.path.insert(0, {scripts!r})\n"
        "import torch\n"
        "from safetensors.torch import save_file\n"
        "from virnucpro_smk.io.atomic import atomic_path\n"
        f"with atomic_path({str(tmp_path / 'w.safetensors')!r}) as tmp:\n"
        "    save_file({'x': torch.zeros(2)}, str(tmp))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert oct((tmp_path / "w.safetensors").stat().st_mode & 0o777) == oct(0o644)
