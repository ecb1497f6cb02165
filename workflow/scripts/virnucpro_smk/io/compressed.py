"""Opening inputs that may be gzip-compressed, decided by content rather than by name.

Users hand over ``.fa`` files that are gzip inside and ``.gz`` files that are not; RefSeq
ships ``.gbff.gz``. Every reader in the package opens its input here, so a missing file, a
directory or a truncated gzip stream reads as the same one-line :class:`InputError`.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_FAULTS = (EOFError, zlib.error, gzip.BadGzipFile)


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name says."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_input(path: str | os.PathLike[str], *, text: bool = False) -> IO:
    """Open a plain or gzip file for reading, in binary or (UTF-8, universal newline) text.

    A missing path or a directory raises :class:`InputError` naming it; faults in the
    compressed stream surface while reading, so wrap the reading in :func:`reading`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    # the caller owns the handle (it is returned), hence no context manager here
    handle = gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115
    if text:
        return io.TextIOWrapper(handle, encoding="utf-8", newline=None)
    return handle


@contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a truncated or corrupt gzip stream, met while reading ``path``, into InputError."""
    try:
        yield
    except _GZIP_FAULTS as exc:
        raise InputError(f"{path}: corrupt or truncated gzip file ({exc})") from None
