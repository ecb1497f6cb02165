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


# --------------------------------------------------------------------------- every writer
#
# Every file the product writes goes through io/atomic: a crash never leaves a file that
# looks finished. The scan below reads the source of the package and the rule scripts and
# flags each call that writes a file (open in a writing mode, write_text/write_bytes,
# save_file, torch.save, np.save, savefig, to_csv, shutil.copy, save/save_pretrained) unless
# its destination is a name bound by ``with atomic_path(...) as tmp`` (or an in-memory
# buffer) in the same function. Adding a plain writer fails here, by file and line.

SCRIPTS = ROOT / "workflow" / "scripts"
WRITE_METHODS = {"write_text": None, "write_bytes": None}  # destination: the receiver
WRITE_FUNCTIONS = {  # call name -> index of the destination argument (or keyword)
    "save_file": (1, "filename"),
    "save": (0, "f"),  # torch.save(obj, f) is handled below; tokenizer.save(path)
    "save_pretrained": (0, "save_directory"),
    "savefig": (0, "fname"),
    "to_csv": (0, "path_or_buf"),
    "savetxt": (0, "fname"),
    "savez": (0, "file"),
    "copy": (1, "dst"),
    "copyfile": (1, "dst"),
    "copy2": (1, "dst"),
}
# Writers outside io/atomic that are crash-safe another way, with the reason.
ALLOWED = {
    ("virnucpro_smk/runtime/gpu_slots.py", "gpu_slot"): "a lock file, not an output",
}


def _names(node) -> set[str]:
    import ast

    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _safe_names(function) -> set[str]:
    """Names bound to an atomic temporary path, an atomic handle or an in-memory buffer."""
    import ast

    safe: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
            func = node.context_expr.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("atomic_path", "atomic_open", "atomic_files") and node.optional_vars:
                safe |= _names(node.optional_vars)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("BytesIO", "StringIO"):
                safe |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return safe


def _destination(call):
    """The destination expression of a call that writes a file, or None if it does not."""
    import ast

    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name == "open":
        mode = call.args[1] if len(call.args) > 1 else None
        mode = next((k.value for k in call.keywords if k.arg == "mode"), mode)
        text = mode.value if isinstance(mode, ast.Constant) else "r"
        if isinstance(mode, ast.Constant) and set(str(text)) & set("wax+"):
            return call.args[0] if call.args else call
        return None
    if name in WRITE_METHODS and isinstance(func, ast.Attribute):
        return func.value
    if name in WRITE_FUNCTIONS:
        if name == "save" and isinstance(func, ast.Attribute) and _names(func.value) & {"torch"}:
            index, keyword = 1, "f"
        elif name == "copy" and not (_names(func) & {"shutil"}):
            return None  # dict.copy(), array.copy()
        else:
            index, keyword = WRITE_FUNCTIONS[name]
        if len(call.args) > index:
            return call.args[index]
        return next((k.value for k in call.keywords if k.arg == keyword), call)
    return None


def plain_writers(source: str, where: str) -> list[str]:
    """``where:line function`` of every file-writing call not routed through io/atomic."""
    import ast

    tree = ast.parse(source)
    found = []
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    for scope in scopes:
        nested = {
            id(c)
            for f in ast.walk(scope)
            if f is not scope and isinstance(f, ast.FunctionDef)
            for c in ast.walk(f)
        }
        safe = _safe_names(scope) if scope is not tree else set()
        if scope is tree:  # module level (rule scripts): the whole module is the scope
            safe = _safe_names(tree)
        for node in ast.walk(scope):
            if id(node) in nested or not isinstance(node, ast.Call):
                continue
            dest = _destination(node)
            name = getattr(scope, "name", "<module>")
            if dest is not None and not (_names(dest) & safe) and (where, name) not in ALLOWED:
                found.append(f"{where}:{node.lineno} {name}")
    return found


def test_every_product_writer_goes_through_io_atomic():
    files = [*SCRIPTS.glob("*.py"), *(SCRIPTS / "virnucpro_smk").rglob("*.py")]
    assert len(files) > 40
    found = []
    for path in sorted(files):
        where = path.relative_to(SCRIPTS).as_posix()
        if where != "virnucpro_smk/io/atomic.py":
            found += plain_writers(path.read_text(encoding="utf-8"), where)
    assert found == [], "writers outside io/atomic (use atomic_open / atomic_path)"


@pytest.mark.parametrize(
    "code",
    [
        "def w(p):\n    with open(p, 'w') as out:\n        out.write('x')\n",
        "def w(p):\n    with open(p, mode='wb') as out:\n        out.write(b'x')\n",
        "def w(p):\n    p.write_text('x')\n",
        "def w(t, p):\n    save_file(t, str(p))\n",
        "def w(m, p):\n    torch.save(m, p)\n",
        "def w(fig, p):\n    fig.savefig(p, dpi=10)\n",
        "def w(p, q):\n    shutil.copyfile(p, q)\n",
        # an atomic temporary in another function does not make this one safe
        "def a(p):\n    with atomic_path(p) as tmp:\n        pass\n"
        "def w(tmp):\n    tmp.write_text('x')\n",
    ],
)
def test_the_scan_finds_plain_writers(code):
    assert plain_writers(code, "x.py") != []


@pytest.mark.parametrize(
    "code",
    [
        "def w(p):\n    with atomic_open(p) as out:\n        out.write('x')\n",
        "def w(p):\n    with atomic_path(p) as tmp, open(tmp, 'wb') as out:\n"
        "        out.write(b'')\n",
        "def w(t, p):\n    with atomic_path(p) as tmp:\n        save_file(t, str(tmp))\n",
        "def w(p):\n    with open(p, 'rb') as h:\n        return h.read()\n",
        "def w(fig):\n    buffer = io.BytesIO()\n    fig.savefig(buffer)\n",
        "def w(d):\n    return d.copy()\n",
    ],
)
def test_the_scan_accepts_atomic_writers_and_readers(code):
    assert plain_writers(code, "x.py") == []


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


def test_standin_model_files_follow_the_umask(standins):
    """Stand-in weights were written 0600 by safetensors (readable by nobody else on a
    cluster); they go through io/atomic like every output (the session's stand-ins)."""
    import virnucpro_smk.io.atomic as atomic

    modes = {
        f"{directory.name}/{path.relative_to(directory)}": oct(path.stat().st_mode & 0o777)
        for _, directory in standins.values()
        for path in directory.rglob("*")
        if path.is_file()
    }
    assert any(name.endswith("model.safetensors") for name in modes)
    assert set(modes.values()) == {oct(atomic.FILE_MODE)}, modes
