"""SHA-256 of files: how artifacts name the exact inputs they were made from.

Checkpoints record the manifest they were trained on, imported checkpoints the legacy file
they came from, and local model directories the weights they hold; all of it is compared
later, so the digest must be computed one way. Files are memory-mapped in pieces: weight
files run to gigabytes and must not be read into memory at once.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterable
from pathlib import Path

_PIECE = 1 << 26


def _update(digest: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for start in range(0, len(view), _PIECE):
                digest.update(view[start : start + _PIECE])


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of one file's contents (equal to ``sha256sum``)."""
    digest = hashlib.sha256()
    _update(digest, Path(path))
    return digest.hexdigest()


def files_sha256(paths: Iterable[str | os.PathLike[str]]) -> str:
    """Hex SHA-256 over several files: each file's name, a NUL, then its contents, by name.

    Names are part of the digest so that swapping two shards' contents changes it.
    """
    digest = hashlib.sha256()
    for path in sorted(map(Path, paths), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        _update(digest, path)
    return digest.hexdigest()
