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
``int``, ``float``, ``bool``, optionally ``None``; or through a column's own parser) and
raises :class:`InputError` with one line naming the file, the line and the column of the
first cell it cannot read. Fields with a default are optional columns: a file without them
still reads (older outputs, tables users write by hand); a row class may declare them
keyword-only (``kw_only=True``) to keep the file's column order.

Tables reach 10M rows (per-chunk scores, predictions, the manifest), so each table compiles
its row-to-line and cells-to-row functions once (as :mod:`dataclasses` compiles ``__init__``):
a cell costs what a hand-written ``f"{a}\\t{b}"`` or ``int(cells[1])`` costs. A row that fails
the fast conversion is converted again cell by cell, for the error message.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from ..errors import InputError
from ..io.atomic import atomic_open
from ..io.compressed import open_input, reading

R = TypeVar("R")

#: rows joined per write call: one call per row is slow, one string of a 10M-row table big
ROWS_PER_WRITE = 4096

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
_SPEC = re.compile(r"\{:([^{}]*)\}")  # a pattern that is one format spec: "{:.6f}"


@dataclass(frozen=True)
class Column:
    """One column: its name, the type its cells hold, how a value is written (and, where it
    has its own, how a cell is read), and whether a file may lack it (a field with a default)
    or leave a cell empty (``X | None``)."""

    name: str
    kind: type
    nullable: bool
    required: bool
    default: Any
    fmt: Callable[[Any], str]
    spec: str | None = None  # the format spec of a "{:spec}" pattern (compiled inline)
    parse: Callable[[str], Any] | None = None


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


def _bool_cell(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError(text)


class Table(Generic[R]):
    """A tab-separated table holding rows of the frozen dataclass ``row`` (see module doc).

    ``missing``: the text of a ``None`` cell. ``floats``: how float cells are written
    (a ``str.format`` pattern; default ``repr``-exact ``str``); ``formats``: per-column
    patterns or functions (value -> text) that override it; ``parsers``: per-column functions
    (text -> value, ``ValueError`` for a bad cell) for cells the types alone cannot read.
    ``extra_columns``: accept (and ignore) columns the row does not have, in any order (tables
    users or other tools write); otherwise the header must be exactly the row's columns, in
    order, optional ones allowed to be absent. ``comments``: skip lines starting with ``#``.
    ``ragged``: a row shorter than the header has empty cells at its end (spreadsheets drop
    them). ``strip``: cells lose surrounding blanks and blank lines are skipped. The last
    three are for tables users write by hand.
    """

    def __init__(
        self,
        name: str,
        row: type[R],
        *,
        missing: str = "",
        floats: str | None = None,
        formats: dict[str, str | Callable[[Any], str]] | None = None,
        parsers: dict[str, Callable[[str], Any]] | None = None,
        extra_columns: bool = False,
        comments: bool = False,
        ragged: bool = False,
        strip: bool = False,
    ) -> None:
        if not dataclasses.is_dataclass(row):
            raise TypeError(f"{row!r} is not a dataclass")
        self.name, self.row, self.missing = name, row, missing
        self.extra_columns, self.comments = extra_columns, comments
        self.ragged, self.strip = ragged, strip
        hints = typing.get_type_hints(row)
        formats, parsers = formats or {}, parsers or {}
        fields = dataclasses.fields(row)
        unknown = (set(formats) | set(parsers)) - {f.name for f in fields}
        if unknown:
            raise TypeError(f"{name}: formats or parsers for unknown column(s) {sorted(unknown)}")
        columns = []
        for f in fields:
            kind, nullable = _field_kind(hints[f.name])
            if kind not in _TYPE_WORDS:
                raise TypeError(f"{name}: column {f.name} has unsupported type {kind!r}")
            pattern = formats.get(f.name) or (floats if kind is float else None)
            fmt: Callable[[Any], str]
            spec = None
            if callable(pattern):
                fmt = pattern
            elif pattern is not None:
                fmt = pattern.format
                match = _SPEC.fullmatch(pattern)
                spec = match.group(1) if match else None
            elif kind is bool:
                fmt = _bool_text
            else:
                fmt = str
            has_default = f.default is not dataclasses.MISSING
            default = f.default if has_default else None
            column = Column(
                f.name, kind, nullable, not has_default, default, fmt, spec, parsers.get(f.name)
            )
            columns.append(column)
        self.columns: tuple[Column, ...] = tuple(columns)
        self.header: tuple[str, ...] = tuple(c.name for c in columns)
        #: the header line (with its newline), for producers writing several files at once
        self.header_line = "\t".join(self.header) + "\n"
        self._keywords = any(getattr(f, "kw_only", False) for f in fields)
        #: ``line(row)``: one row as a line of the file (with its newline)
        self.line: Callable[[R], str] = self._compile_line("row", [f"row.{n}" for n in self.header])
        #: ``line_of(*values)``: the line of a row given as its values, in column order
        arguments = [f"_{i}" for i in range(len(self.header))]
        self.line_of: Callable[..., str] = self._compile_line(", ".join(arguments), arguments)

    # ---------------------------------------------------------------------- writing

    def _compile_line(self, arguments: str, values: Sequence[str]) -> Callable[..., str]:
        """A function of ``arguments`` returning the line (with its newline) of the cells
        ``values`` (expressions over the arguments, in column order), as one f-string."""
        env: dict[str, Any] = {"_missing": self.missing, "_true": "true", "_false": "false"}
        parts = []
        for i, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            if column.fmt is str:
                text = f"{value}!s"
            elif column.fmt is _bool_text:
                text = f"(_true if {value} else _false)"
            elif column.spec is not None:
                env[f"_spec{i}"] = column.spec
                text = f"format({value}, _spec{i})"
            else:
                env[f"_fmt{i}"] = column.fmt
                text = f"_fmt{i}({value})"
            if column.nullable:
                if text.endswith("!s"):
                    text = f"str({value})"
                text = f"(_missing if {value} is None else {text})"
            parts.append("{" + text + "}")
        source = f'def line({arguments}):\n    return f"' + "\\t".join(parts) + '\\n"\n'
        exec(source, env)  # built from the dataclass's own field names (as dataclasses does)
        return env["line"]

    def write_to(self, handle: IO[str], rows: Iterable[R]) -> None:
        """The header, then ``rows``, into an open text handle (joined in batches)."""
        handle.write(self.header_line)
        self.write_rows(handle, rows)

    def write_rows(self, handle: IO[str], rows: Iterable[R]) -> None:
        """``rows`` (no header) into an open text handle, joined ``ROWS_PER_WRITE`` at a time."""
        line = self.line
        batch: list[str] = []
        for row in rows:
            batch.append(line(row))
            if len(batch) >= ROWS_PER_WRITE:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))

    def write_columns(self, handle: IO[str], columns: Sequence[Iterable[Any]]) -> None:
        """Rows given as columns (one iterable per column, in column order, of equal length)
        into an open text handle: the hottest writers (predict's 10M frames) skip making a
        row object per line; the cells are written as :meth:`line` writes them."""
        if len(columns) != len(self.columns):
            raise TypeError(
                f"{self.name}: {len(columns)} columns, the table has {len(self.columns)}"
            )
        lines = itertools.starmap(self.line_of, zip(*columns, strict=True))
        while batch := list(itertools.islice(lines, ROWS_PER_WRITE)):
            handle.write("".join(batch))

    def write(self, path: str | os.PathLike[str], rows: Iterable[R]) -> None:
        """Write the table atomically: the file is complete, or absent (or as it was)."""
        with atomic_open(path) as handle:
            self.write_to(handle, rows)

    @contextmanager
    def writer(self, path: str | os.PathLike[str]) -> Iterator[TableWriter[R]]:
        """Write a table whose rows come in several batches (a 10M-row per-chunk table):
        ``with TABLE.writer(path) as write: write(batch); write.columns(ids, scores)``.
        Atomic as :meth:`write`: the file appears when the block ends without an error."""
        with atomic_open(path) as handle:
            handle.write(self.header_line)
            yield TableWriter(self, handle)

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
            hint = " (columns are separated by tabs)" if len(header) == 1 else ""
            raise InputError(
                f"{where}: not a {self.name} table: lacks column(s) {', '.join(missing)} "
                f"(header: {_listed(header)}){hint}"
            )
        return [header.index(c.name) if c.name in header else None for c in self.columns]

    def _cell(self, column: Column, text: str, where: str) -> Any:
        """One cell read on the slow path, raising the one-line error for a bad one."""
        if column.nullable and text in (self.missing, ""):
            return None
        if column.parse is not None:
            try:
                return column.parse(text)
            except ValueError as exc:  # the parser's message says what the cell must be
                raise InputError(
                    f"{where}: {column.name} {text!r} {exc or 'cannot be read'}"
                ) from None
        if column.kind is str:
            return text
        if not text:
            raise InputError(f"{where}: empty {column.name}; expected {_TYPE_WORDS[column.kind]}")
        try:
            if column.kind is bool:
                return _bool_cell(text)
            if column.kind is int:
                return int(text)
            return column.kind(text)
        except ValueError:
            raise InputError(
                f"{where}: {column.name} {text!r} is not {_TYPE_WORDS[column.kind]}"
            ) from None

    def _compile_build(self, positions: Sequence[int | None]) -> Callable[[list[str]], R]:
        """``build(cells)``: a row from a line's cells (``positions``: the file's columns),
        with plain ``int``/``float`` calls; raises ValueError (or TypeError) on a bad cell."""
        env: dict[str, Any] = {
            "_row": self.row,
            "_bool": _bool_cell,
            "_nulls": (self.missing, ""),
        }
        args = []
        for i, (column, k) in enumerate(zip(self.columns, positions, strict=True)):
            if k is None:
                env[f"_default{i}"] = column.default
                value = f"_default{i}"
            else:
                cell = f"cells[{k}]"
                if column.parse is not None:
                    env[f"_parse{i}"] = column.parse
                    value = f"_parse{i}({cell})"
                elif column.kind is str:
                    value = cell
                elif column.kind is bool:
                    value = f"_bool({cell})"
                else:
                    value = f"{column.kind.__name__}({cell})"
                if column.nullable:
                    value = f"(None if {cell} in _nulls else {value})"
            args.append(f"{column.name}={value}" if self._keywords else value)
        source = f"def build(cells):\n    return _row({', '.join(args)})\n"
        exec(source, env)
        return env["build"]

    def _failure(
        self, cells: list[str], positions: Sequence[int | None], where: str, exc: Exception
    ) -> Exception:
        """The one-line error for a row the fast path could not build."""
        for column, k in zip(self.columns, positions, strict=True):
            if k is not None:
                self._cell(column, cells[k], where)  # raises for the first bad cell
        return exc  # not a cell's fault (a check of the row class itself)

    def numbered_rows_of(self, lines: Iterable[str], source: str) -> Iterator[tuple[int, R]]:
        """``(line number, row)`` of a table's lines (the header first); ``source`` names it
        in errors. For consumers whose own checks name the line."""
        numbered = enumerate(lines, start=1)
        header: list[str] | None = None
        header_line = 0
        for header_line, line in numbered:
            text = line.rstrip("\r\n")
            if header_line == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark (spreadsheets)
            if text.strip() and not (self.comments and text.lstrip().startswith("#")):
                header = text.split("\t")
                break
        if header is None:
            raise InputError(f"{source}: empty file; expected a {self.name} table")
        if self.strip:
            header = [cell.strip() for cell in header]
        positions = self._positions(header, f"{source}, line {header_line}")
        width = len(header)
        build = self._compile_build(positions)
        comments, ragged, strip = self.comments, self.ragged, self.strip
        for number, line in numbered:
            text = line.rstrip("\r\n")
            if not text or (strip and not text.strip()):
                continue
            if comments and text.lstrip().startswith("#"):
                continue
            cells = text.split("\t")
            if len(cells) != width:
                if not (ragged and len(cells) < width):
                    raise InputError(
                        f"{source}, line {number}: {len(cells)} cells, the header has {width}"
                    )
                cells += [""] * (width - len(cells))
            if strip:
                cells = [cell.strip() for cell in cells]
            try:
                row = build(cells)
            except (ValueError, TypeError) as exc:
                raise self._failure(cells, positions, f"{source}, line {number}", exc) from None
            yield number, row

    def read_numbered(
        self, path: str | os.PathLike[str], source: str | None = None
    ) -> Iterator[tuple[int, R]]:
        """``(line number, row)`` of the file at ``path``, streamed (see :meth:`read`)."""
        source = str(path) if source is None else source
        if not os.path.exists(path):
            raise InputError(f"{source}: file not found; expected a {self.name} table")
        if os.path.isdir(path):
            raise InputError(f"{source}: is a directory; expected a {self.name} table")
        try:
            with open_input(path, text=True) as handle, reading(path):
                yield from self.numbered_rows_of(handle, source)
        except UnicodeDecodeError:
            raise InputError(f"{source}: not UTF-8 text; expected a {self.name} table") from None
        except OSError as exc:
            raise InputError(
                f"{source}: cannot read the {self.name} table ({exc.strerror or exc})"
            ) from None

    def read(self, path: str | os.PathLike[str], source: str | None = None) -> Iterator[R]:
        """The rows of the file at ``path`` (plain or gzip), streamed (see the module doc for
        the checks); a missing file or a directory is one line too. ``source``: how errors
        name the file (default: its path)."""
        return map(_second, self.read_numbered(path, source))

    def read_all(self, path: str | os.PathLike[str], source: str | None = None) -> list[R]:
        """Every row of the file (for tables whose size the pipeline bounds)."""
        return list(self.read(path, source))


class TableWriter(Generic[R]):
    """A table open for writing in batches (:meth:`Table.writer`)."""

    def __init__(self, table: Table[R], handle: IO[str]) -> None:
        self._table, self._handle = table, handle

    def __call__(self, rows: Iterable[R]) -> None:
        """Write a batch of rows."""
        self._table.write_rows(self._handle, rows)

    def columns(self, *columns: Iterable[Any]) -> None:
        """Write a batch of rows given as columns (:meth:`Table.write_columns`)."""
        self._table.write_columns(self._handle, columns)


_second = operator.itemgetter(1)  # the row of a (line number, row) pair


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:12])
    return shown + (f", ... ({len(names)} columns)" if len(names) > 12 else "")
