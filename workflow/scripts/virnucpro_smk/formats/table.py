"""One definition per tab-separated table: its columns, the typed row it holds, one reader and
one writer.

Every table the pipeline passes on (frame index, per-chunk scores, the manifest, ...) was
written by one module and parsed again by hand in others, each with its own header check.
Here a table is declared once, from a frozen dataclass whose fields are its columns, in
order::

    @dataclass(frozen=True)
    class ChunkRow:
        sequence_id: str
        chunk: int
        best_viral: float | None  # None is written as the table's ``missing`` text ("NA")

    PER_CHUNK = Table("per-chunk scores", ChunkRow, missing="NA", floats="{:.6f}")

and read and written only through it::

    for row in PER_CHUNK.read(path):   # streamed: memory independent of the row count
        ...
    PER_CHUNK.write(path, rows)        # atomic: complete or absent

The reader checks the header (the exact columns, or with ``extra_columns=True`` at least the
required ones, for tables users write), turns each cell into its field's type (``str``,
``int``, ``float``, ``bool``, optionally ``None``) and raises :class:`InputError` with one
line naming the file, the line and the column of the first cell it cannot read. Fields with a
default are optional columns: a file without them still reads (older outputs, tables users
write by hand).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from ..errors import InputError
from ..io.atomic import atomic_open

R = TypeVar("R")

#: rows joined per write call: one call per row is slow, one string of a 10M-row table big
ROWS_PER_WRITE = 4096

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "text"}


@dataclass(frozen=True)
class Column:
    """One column: its name, the type its cells hold, how a value is written, and whether a
    file may lack it (a field with a default) or leave a cell empty (``X | None``)."""

    name: str
    kind: type
    nullable: bool
    required: bool
    default: Any
    fmt: Callable[[Any], str]


def _field_kind(hint: Any) -> tuple[type, bool]:
    """``(base type, nullable)`` of a field annotation such as ``int`` or ``float | None``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported column type {hint!r}")
        return rest[0], True
    return hint, False


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


class Table(Generic[R]):
    """A tab-separated table holding rows of the frozen dataclass ``row`` (see module doc).

    ``missing``: the text of a ``None`` cell. ``floats``: how float cells are written
    (a ``str.format`` pattern; default ``repr``-exact ``str``); ``formats``: per-column
    patterns that override it. ``extra_columns``: accept (and ignore) columns the row does not
    have, in any order (tables users write); otherwise the header must be exactly the row's
    columns, in order, optional ones allowed to be absent. ``comments``: skip lines starting
    with ``#`` (tables users write).
    """

    def __init__(
        self,
        name: str,
        row: type[R],
        *,
        missing: str = "",
        floats: str | None = None,
        formats: dict[str, str] | None = None,
        extra_columns: bool = False,
        comments: bool = False,
    ) -> None:
        if not dataclasses.is_dataclass(row):
            raise TypeError(f"{row!r} is not a dataclass")
        self.name, self.row, self.missing = name, row, missing
        self.extra_columns, self.comments = extra_columns, comments
        hints = typing.get_type_hints(row)
        formats = formats or {}
        unknown = set(formats) - {f.name for f in dataclasses.fields(row)}
        if unknown:
            raise TypeError(f"{name}: formats for unknown column(s) {sorted(unknown)}")
        columns = []
        for f in dataclasses.fields(row):
            kind, nullable = _field_kind(hints[f.name])
            if kind not in _TYPE_WORDS:
                raise TypeError(f"{name}: column {f.name} has unsupported type {kind!r}")
            pattern = formats.get(f.name) or (floats if kind is float else None)
            fmt: Callable[[Any], str]
            if pattern is not None:
                fmt = pattern.format
            elif kind is bool:
                fmt = _bool_text
            else:
                fmt = str
            has_default = f.default is not dataclasses.MISSING
            default = f.default if has_default else None
            columns.append(Column(f.name, kind, nullable, not has_default, default, fmt))
        self.columns: tuple[Column, ...] = tuple(columns)
        self.header: tuple[str, ...] = tuple(c.name for c in columns)

    # ---------------------------------------------------------------------- writing

    def line(self, row: R) -> str:
        """One row as a line of the file (with its newline)."""
        cells = []
        for column in self.columns:
            value = getattr(row, column.name)
            cells.append(self.missing if value is None else column.fmt(value))
        return "\t".join(cells) + "\n"

    def write_to(self, handle: IO[str], rows: Iterable[R]) -> None:
        """The header, then ``rows``, into an open text handle (joined in batches)."""
        handle.write("\t".join(self.header) + "\n")
        batch: list[str] = []
        for row in rows:
            batch.append(self.line(row))
            if len(batch) >= ROWS_PER_WRITE:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))

    def write(self, path: str | os.PathLike[str], rows: Iterable[R]) -> None:
        """Write the table atomically: the file is complete, or absent (or as it was)."""
        with atomic_open(path) as handle:
            self.write_to(handle, rows)

    # ---------------------------------------------------------------------- reading

    def _positions(self, header: list[str], where: str) -> list[int | None]:
        """Index of each column in a file's header (None: an optional column it lacks)."""
        if not self.extra_columns:
            expected = [c.name for c in self.columns if c.required or c.name in header]
            if header != expected:
                raise InputError(
                    f"{where}: not a {self.name} table (header {_listed(header)}; expected "
                    f"{_listed(self.header)})"
                )
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise InputError(f"{where}: column(s) {', '.join(duplicated)} appear twice")
        missing = [c.name for c in self.columns if c.required and c.name not in header]
        if missing:
            raise InputError(
                f"{where}: not a {self.name} table: lacks column(s) {', '.join(missing)}"
            )
        return [header.index(c.name) if c.name in header else None for c in self.columns]

    def _cell(self, column: Column, text: str, where: str) -> Any:
        if column.nullable and text in (self.missing, ""):
            return None
        if column.kind is str:
            return text
        if not text:
            raise InputError(f"{where}: empty {column.name}; expected {_TYPE_WORDS[column.kind]}")
        try:
            if column.kind is bool:
                if text not in ("true", "false"):
                    raise ValueError(text)
                return text == "true"
            if column.kind is int:
                return int(text)
            return column.kind(text)
        except ValueError:
            raise InputError(
                f"{where}: {column.name} {text!r} is not {_TYPE_WORDS[column.kind]}"
            ) from None

    def rows_of(self, lines: Iterable[str], source: str) -> Iterator[R]:
        """Rows of a table's lines (the header first); ``source`` names it in errors."""
        numbered = enumerate(lines, start=1)
        header: list[str] | None = None
        header_line = 0
        for header_line, line in numbered:  # noqa: B007 (the header's line number is kept)
            text = line.rstrip("\r\n")
            if text.strip() and not (self.comments and text.startswith("#")):
                header = text.split("\t")
                break
        if header is None:
            raise InputError(f"{source}: empty file; expected a {self.name} table")
        positions = self._positions(header, f"{source}, line {header_line}")
        width = len(header)
        build = self.row
        for number, line in numbered:
            text = line.rstrip("\r\n")
            if not text or (self.comments and text.startswith("#")):
                continue
            cells = text.split("\t")
            where = f"{source}, line {number}"
            if len(cells) != width:
                raise InputError(f"{where}: {len(cells)} cells, the header has {width}")
            values = [
                column.default if k is None else self._cell(column, cells[k], where)
                for column, k in zip(self.columns, positions, strict=True)
            ]
            yield build(*values)

    def read(self, path: str | os.PathLike[str]) -> Iterator[R]:
        """The rows of the file at ``path``, streamed (see the module doc for the checks)."""
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                yield from self.rows_of(handle, str(path))
        except OSError as exc:
            raise InputError(
                f"{path}: cannot read the {self.name} table ({exc.strerror})"
            ) from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text; expected a {self.name} table") from None

    def read_all(self, path: str | os.PathLike[str]) -> list[R]:
        """Every row of the file (for tables whose size the pipeline bounds)."""
        return list(self.read(path))

    @contextmanager
    def writer(self, path: str | os.PathLike[str]) -> Iterator[Callable[[Iterable[R]], None]]:
        """Write a table whose rows come in several batches (a 10M-row per-chunk table):
        ``with TABLE.writer(path) as write: write(batch); write(batch)``. Atomic as
        :meth:`write`: the file appears when the block ends without an error."""
        with atomic_open(path) as handle:
            handle.write("\t".join(self.header) + "\n")

            def write(rows: Iterable[R]) -> None:
                handle.write("".join(self.line(row) for row in rows))

            yield write


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:12])
    return shown + (f", ... ({len(names)} columns)" if len(names) > 12 else "")
