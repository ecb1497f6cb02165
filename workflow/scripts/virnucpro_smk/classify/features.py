"""Classifier features: one shard's DNA and protein embeddings joined where they are consumed.

No merged file is written any more: prediction and training read the DNA shard and the
protein shard of the same frames and join them in memory. The checks the old merge step
made all happen here, so a wrong pairing still stops the job: kinds, models (against what
the caller expects and the files' own directories), chunk lengths, ids and their order,
widths and finite values. The original printed a warning and silently dropped ids found in
only one file; here any disagreement is an error naming both files, the expected and found
values and up to ten offending ids. The joined width is computed from the inputs' metadata.

* :class:`FeatureBlocks` checks one shard's pair of files and yields its rows in blocks:
  memory is one block, whatever the shard size;
* :class:`PairedFeatures` joins a frame set's DNA files with its protein files when they
  are cut differently (each model's extraction jobs are sized by its own cost, so the DNA
  model has fewer, larger files than a protein model): rows are streamed in order across both
  lists of files, one file of each open at a time, and ids are checked row by row; memory is
  one block plus one file's ids per side (prediction); its ids alone
  (:meth:`PairedFeatures.id_blocks`) check a training set against its manifest;
* :class:`FeatureRows` reads any range of frames across both sides' files once they are
  checked (training reads its splits block by block in a shuffled order, ``batches.py``).

Rows are read with plain reads, not a memory map, so resident memory is what is held.
"""

from __future__ import annotations

import bisect
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelMismatchError
from ..io.embedding_files import EmbeddingFile, EmbeddingReader, check_identity
from ..models.registry import pair_tag

MAX_LISTED = 10


def _listed(ids: list[str]) -> str:
    more = f" (and {len(ids) - MAX_LISTED} more)" if len(ids) > MAX_LISTED else ""
    return ", ".join(ids[:MAX_LISTED]) + more


def check_finite(emb: EmbeddingFile, path: str | os.PathLike[str]) -> None:
    """Refuse NaN/Inf rows, naming them.

    Fast path: a finite sum proves every value finite (a NaN or Inf makes it non-finite),
    ~35x faster than ``isfinite(...).all()``; only a non-finite sum (or an overflow of
    finite values) has the rows examined.
    """
    if bool(torch.isfinite(emb.matrix.sum())):
        return
    bad_rows = (~torch.isfinite(emb.matrix)).any(dim=1).nonzero().flatten().tolist()
    if not bad_rows:  # the sum overflowed on finite values
        return
    offending = _listed([emb.ids[i] for i in bad_rows])
    raise ModelMismatchError(f"{path}: {len(bad_rows)} row(s) contain NaN or Inf: {offending}")


def _id_mismatch(dna: EmbeddingFile, protein: EmbeddingFile, dna_path: str, protein_path: str):
    dna_set, prot_set = set(dna.ids), set(protein.ids)
    only_dna = [i for i in dna.ids if i not in prot_set]
    only_prot = [i for i in protein.ids if i not in dna_set]
    details = []
    if only_dna:
        details.append(f"only in {dna_path}: {_listed(only_dna)}")
    if only_prot:
        details.append(f"only in {protein_path}: {_listed(only_prot)}")
    if not details:
        misplaced = [a for a, b in zip(dna.ids, protein.ids, strict=False) if a != b]
        details.append(f"same ids in a different order, first differing: {_listed(misplaced)}")
    return ModelMismatchError(
        f"{dna_path} ({len(dna.ids)} rows) and {protein_path} ({len(protein.ids)} rows) "
        "do not hold the same ids in the same order; " + "; ".join(details)
    )


def merge_pair(
    dna: EmbeddingFile, protein: EmbeddingFile, dna_path: str, protein_path: str
) -> tuple[list[str], torch.Tensor, dict[str, Any]]:
    """Concatenate per-frame DNA and protein vectors (rows must match one to one).

    The only copy made is the concatenation itself; callers should drop ``dna`` and
    ``protein`` afterwards so that the inputs' memory is returned.
    """
    if dna.meta.get("kind") != "dna" or protein.meta.get("kind") != "protein":
        raise ModelMismatchError(
            f"{dna_path} must hold DNA and {protein_path} protein embeddings, found "
            f"{dna.meta.get('kind')} and {protein.meta.get('kind')}"
        )
    if dna.meta.get("chunk_length") != protein.meta.get("chunk_length"):
        raise ModelMismatchError(
            f"{dna_path} (chunk {dna.meta.get('chunk_length')}) and {protein_path} "
            f"(chunk {protein.meta.get('chunk_length')}) come from different chunk lengths"
        )
    if dna.ids != protein.ids:
        raise _id_mismatch(dna, protein, dna_path, protein_path)
    for emb, path in ((dna, dna_path), (protein, protein_path)):
        if emb.matrix.shape[1] != emb.width:
            raise ModelMismatchError(
                f"{path}: expected width {emb.width} ({emb.model}), found {emb.matrix.shape[1]}"
            )
        check_finite(emb, path)
    width = dna.width + protein.width
    matrix = torch.cat([dna.matrix, protein.matrix], dim=1)
    meta = {
        "model": pair_tag(dna.model, protein.model),
        "kind": "features",
        "width": width,
        "dna_model": dna.model,
        "dna_width": dna.width,
        "dna_revision": dna.meta.get("revision"),
        "dna_commit": dna.meta.get("model_commit"),
        "protein_model": protein.model,
        "protein_width": protein.width,
        "protein_revision": protein.meta.get("revision"),
        "protein_commit": protein.meta.get("model_commit"),
        "chunk_length": dna.meta.get("chunk_length"),
        "source": f"{dna.meta.get('source')} + {protein.meta.get('source')}",
        "revision": f"{dna.meta.get('revision')} + {protein.meta.get('revision')}",
        "pooling": f"{dna.meta.get('pooling')} + {protein.meta.get('pooling')}",
        "dtype": f"{dna.meta.get('dtype')} + {protein.meta.get('dtype')}",
    }
    return dna.ids, matrix, meta


#: Rows per block in :class:`FeatureBlocks`: with the real models (768 + 2560 floats) a block
#: of DNA, protein and joined rows takes about 0.9 GB, whatever the shard size.
BLOCK_ROWS = 32768


def _checked_header(
    rows: EmbeddingReader, expect_model: str, chunk_length: int | None
) -> EmbeddingFile:
    """Identity of a file from its header and ids, checked before any row is read.

    The returned EmbeddingFile has an empty (0-row) matrix: rows are read block by block.
    """
    ids = rows.ids()
    check_identity(
        rows.path,
        rows.meta,
        rows.shape,
        len(ids),
        expect_model=expect_model,
        expect_chunk_length=chunk_length,
        dtype=rows.dtype,
    )
    width = int(rows.meta["width"])
    return EmbeddingFile(ids, torch.empty((0, width)), rows.meta)


class FeatureBlocks:
    """One shard's features read in blocks of rows, for memory that does not grow with it.

    Opening runs every identity check on the two headers (kinds, models and directories,
    chunk lengths, ids and order, widths), so ``ids`` and ``meta`` (the pair's identity, what
    ``CheckpointIdentity.from_features`` reads) are known before any row is read; finite
    values are checked block by block. Use as a context manager::

        with FeatureBlocks(dna, protein, dna_model, protein_model, 300) as shard:
            for ids, matrix in shard.blocks():
                ...
    """

    def __init__(
        self,
        dna_path: str | os.PathLike[str],
        protein_path: str | os.PathLike[str],
        dna_model: str,
        protein_model: str,
        chunk_length: int | None = None,
    ) -> None:
        self.dna_path, self.protein_path = Path(dna_path), Path(protein_path)
        self._files: list[EmbeddingReader] = []
        try:
            self._files.append(EmbeddingReader(self.dna_path))
            self._files.append(EmbeddingReader(self.protein_path))
            self._dna = _checked_header(self._files[0], dna_model, chunk_length)
            self._protein = _checked_header(self._files[1], protein_model, chunk_length)
            _, _, self.meta = merge_pair(self._dna, self._protein, str(dna_path), str(protein_path))
        except BaseException:
            self.close()
            raise
        self.ids: list[str] = self._dna.ids

    def __enter__(self) -> FeatureBlocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for rows in self._files:
            rows.close()

    def blocks(self, block_rows: int = BLOCK_ROWS) -> Iterator[tuple[list[str], torch.Tensor]]:
        """``(ids, [DNA | protein] rows)`` for consecutive blocks of at most ``block_rows``."""
        dna, protein = self._dna, self._protein
        for start in range(0, len(self.ids), block_rows):
            end = min(start + block_rows, len(self.ids))
            dna.ids = protein.ids = self.ids[start:end]
            dna.matrix = self._files[0].rows(start, end)
            protein.matrix = self._files[1].rows(start, end)
            try:
                _, matrix, _ = merge_pair(dna, protein, str(self.dna_path), str(self.protein_path))
            finally:
                dna.matrix = protein.matrix = torch.empty((0, 0))
            yield dna.ids, matrix
            del matrix  # before the next block is read


#: Header fields of an embedding file that say which vectors it holds (not how its run went):
#: every file of one side of a :class:`PairedFeatures` must agree on them.
IDENTITY_FIELDS = (
    "model",
    "kind",
    "width",
    "source",
    "revision",
    "model_commit",
    "pooling",
    "dtype",
    "chunk_length",
)


class _Side:
    """The rows of one model over a frame set, across its files in order, one file open at a
    time; each file's identity is checked when it is opened, against the first file's."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], model: str, chunk_length):
        self.paths = [Path(p) for p in paths]
        self.model, self.chunk_length = model, chunk_length
        self.file = -1
        self.rows: EmbeddingReader | None = None
        self.header: EmbeddingFile | None = None
        self.first: EmbeddingFile | None = None
        self.pos = 0  # next row of the open file
        self.counts: list[int] = []  # rows of each file opened so far, in order

    @property
    def path(self) -> Path:
        return self.paths[self.file]

    def _open(self, i: int) -> None:
        self.close()
        self.file, self.pos = i, 0
        self.rows = EmbeddingReader(self.paths[i])
        self.header = _checked_header(self.rows, self.model, self.chunk_length)
        self.counts.append(len(self.header.ids))
        if self.first is None:
            self.first = self.header
            return
        for key in IDENTITY_FIELDS:
            found, first = self.header.meta.get(key), self.first.meta.get(key)
            if found != first:
                raise ModelMismatchError(
                    f"{self.path}: {key} {found!r}, but the first shard {self.paths[0]} has "
                    f"{first!r} (one model's files of a frame set must agree)"
                )

    def start(self) -> None:
        if not self.paths:
            raise ModelMismatchError(f"no {self.model} embedding files given")
        self._open(0)

    def available(self) -> int:
        """Rows left in the open file, moving on past exhausted (or empty) files; 0 at the end."""
        assert self.header is not None
        while self.pos == len(self.header.ids) and self.file + 1 < len(self.paths):
            self._open(self.file + 1)
        return len(self.header.ids) - self.pos

    def take_ids(self, n: int) -> list[str]:
        assert self.header is not None
        start, self.pos = self.pos, self.pos + n
        return self.header.ids[start : self.pos]

    def take(self, n: int) -> tuple[list[str], torch.Tensor]:
        assert self.rows is not None and self.header is not None
        start, self.pos = self.pos, self.pos + n
        self.header.matrix = self.rows.rows(start, self.pos)
        try:
            ids = self.header.ids[start : self.pos]
            block = EmbeddingFile(ids, self.header.matrix, self.header.meta)
            check_finite(block, self.path)
            return ids, block.matrix
        finally:
            self.header.matrix = torch.empty((0, 0))

    def close(self) -> None:
        if self.rows is not None:
            self.rows.close()
            self.rows = None


class PairedFeatures:
    """A frame set's features from DNA files and protein files cut at different rows.

    ``dna_paths`` (and ``protein_paths``) are one model's files of the frame set in order
    (job 0, 1, ...); together each list holds every frame once. The files of one side need
    not end where the other side's do: blocks are cut at every boundary of either side, and
    the ids of each block must be the same on both sides, row by row (the error names both
    files, the row and the first differing ids). Opening checks both first files' identity as
    :class:`FeatureBlocks` does (``meta`` is then known); every later file is checked against
    its side's first file when it is reached; values are checked finite block by block. At
    the end both sides must be exhausted together. Use as a context manager::

        with PairedFeatures(dna_files, protein_files, dna_model, protein_model, 300) as rows:
            for ids, matrix in rows.blocks():
                ...
    """

    def __init__(
        self,
        dna_paths: Sequence[str | os.PathLike[str]],
        protein_paths: Sequence[str | os.PathLike[str]],
        dna_model: str,
        protein_model: str,
        chunk_length: int | None = None,
    ) -> None:
        self._dna = _Side(dna_paths, dna_model, chunk_length)
        self._protein = _Side(protein_paths, protein_model, chunk_length)
        try:
            self._dna.start()
            self._protein.start()
            dna, protein = self._dna.header, self._protein.header
            assert dna is not None and protein is not None
            # kinds, chunk lengths and widths of the pair (ids are compared block by block)
            _, _, self.meta = merge_pair(
                EmbeddingFile([], torch.empty((0, dna.width)), dna.meta),
                EmbeddingFile([], torch.empty((0, protein.width)), protein.meta),
                str(self._dna.path),
                str(self._protein.path),
            )
        except BaseException:
            self.close()
            raise
        self.rows = 0  # rows yielded so far
        self._left = (0, 0)  # rows left in the open file of each side

    def __enter__(self) -> PairedFeatures:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._dna.close()
        self._protein.close()

    @property
    def where(self) -> str:
        """The DNA and protein files being read (for messages about their rows)."""
        return f"{self._dna.path} + {self._protein.path}"

    def _mismatch(self, dna_ids: list[str], protein_ids: list[str]) -> ModelMismatchError:
        at = next(i for i, (a, b) in enumerate(zip(dna_ids, protein_ids, strict=True)) if a != b)
        dna, protein = self._dna, self._protein
        return ModelMismatchError(
            f"{dna.path} (row {dna.pos - len(dna_ids) + at}) and {protein.path} "
            f"(row {protein.pos - len(protein_ids) + at}) do not hold the same ids in the same "
            f"order: frame {self.rows + at} of the set is {dna_ids[at]!r} in the DNA files but "
            f"{protein_ids[at]!r} in the protein files; first differing: "
            + _listed([a for a, b in zip(dna_ids, protein_ids, strict=True) if a != b])
        )

    def blocks(self, block_rows: int = BLOCK_ROWS) -> Iterator[tuple[list[str], torch.Tensor]]:
        """``(ids, [DNA | protein] rows)`` in frame order, at most ``block_rows`` at a time."""
        split = self._dna.header.width if self._dna.header is not None else 0
        while n := self._next(block_rows):
            dna_ids, dna_rows = self._dna.take(n)
            protein_ids, protein_rows = self._protein.take(n)
            if dna_ids != protein_ids:
                raise self._mismatch(dna_ids, protein_ids)
            matrix = torch.empty((n, int(self.meta["width"])), dtype=torch.float32)
            matrix[:, :split] = dna_rows
            matrix[:, split:] = protein_rows
            del dna_rows, protein_rows
            self.rows += n
            yield dna_ids, matrix
            del matrix  # before the next block is read
        self._check_end()

    def id_blocks(self, block_rows: int = BLOCK_ROWS) -> Iterator[list[str]]:
        """The ids of :meth:`blocks`, checked alike (pairing, identities, counts), without
        reading a row: training checks a frame set against its manifest this way, then reads
        rows in any order (:meth:`row_source`)."""
        while n := self._next(block_rows):
            dna_ids, protein_ids = self._dna.take_ids(n), self._protein.take_ids(n)
            if dna_ids != protein_ids:
                raise self._mismatch(dna_ids, protein_ids)
            self.rows += n
            yield dna_ids
        self._check_end()

    def row_source(self) -> FeatureRows:
        """Rows by frame number (:class:`FeatureRows`) once a walk has reached the end of both
        sides (every file's identity, ids and row count checked)."""
        for side in (self._dna, self._protein):
            if len(side.counts) != len(side.paths) or side.available():
                raise RuntimeError("row_source() needs a finished walk over the files")
        return FeatureRows(
            list(zip(self._dna.paths, self._dna.counts, strict=True)),
            list(zip(self._protein.paths, self._protein.counts, strict=True)),
            self.meta,
        )

    def _next(self, block_rows: int) -> int:
        """Rows of the next block: up to the nearer end of a file on either side; 0 at the end."""
        self._left = (self._dna.available(), self._protein.available())
        return min(block_rows, *self._left) if all(self._left) else 0

    def _check_end(self) -> None:
        dna_left, protein_left = self._left
        if dna_left or protein_left:
            more, fewer = (self._dna, self._protein) if dna_left else (self._protein, self._dna)
            raise ModelMismatchError(
                f"the {more.model} files hold more rows than the {fewer.model} files: "
                f"{fewer.model} ends after {self.rows} frames ({fewer.paths[-1]}), "
                f"{more.path} still has {more.available()} row(s) from row {more.pos}"
            )


#: Files a :class:`FeatureRows` keeps open at a time (a training set may have hundreds).
MAX_OPEN_FILES = 32


class _FileRows:
    """One side's files as one sequence of rows; a range may span files."""

    def __init__(self, files: Sequence[tuple[Path, int]], width: int) -> None:
        self.paths = [Path(p) for p, _ in files]
        self.counts = [int(n) for _, n in files]
        self.starts = [0]
        for n in self.counts:
            self.starts.append(self.starts[-1] + n)
        self.width = width
        self._open: OrderedDict[int, EmbeddingReader] = OrderedDict()

    def _reader(self, i: int) -> EmbeddingReader:
        if i in self._open:
            self._open.move_to_end(i)
            return self._open[i]
        reader = EmbeddingReader(self.paths[i])
        if reader.shape != (self.counts[i], self.width):
            reader.close()
            raise ModelMismatchError(
                f"{self.paths[i]}: holds {reader.shape} rows, {self.counts[i]} x {self.width} "
                "when training began (the file was replaced)"
            )
        self._open[i] = reader
        while len(self._open) > MAX_OPEN_FILES:
            _, old = self._open.popitem(last=False)
            old.close()
        return reader

    def rows(self, start: int, end: int) -> torch.Tensor:
        if not 0 <= start <= end <= self.starts[-1]:
            raise IndexError(f"rows {start}-{end} of {self.starts[-1]}")
        parts = []
        i = bisect.bisect_right(self.starts, start) - 1
        while start < end:
            stop = min(end, self.starts[i + 1])
            if stop > start:
                local = self._reader(i).rows(start - self.starts[i], stop - self.starts[i])
                if not bool(torch.isfinite(local.sum())):
                    bad = (~torch.isfinite(local)).any(dim=1).nonzero().flatten()
                    if len(bad):
                        rows = [str(int(r) + start - self.starts[i]) for r in bad]
                        raise ModelMismatchError(
                            f"{self.paths[i]}: {len(rows)} row(s) contain NaN or Inf: "
                            f"rows {_listed(rows)}"
                        )
                parts.append(local)
                start = stop
            i += 1
        if not parts:
            return torch.empty((0, self.width), dtype=torch.float32)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def close(self) -> None:
        while self._open:
            _, reader = self._open.popitem()
            reader.close()


class FeatureRows:
    """A frame set's ``[DNA | protein]`` rows by frame number, read when asked (training).

    Made by :meth:`PairedFeatures.row_source` after a walk that checked every file's identity,
    ids and row count (the ids against the manifest, by the caller), so here a range of frame
    numbers is only mapped onto each side's files (cut at different rows) and read; values are
    checked finite as they are read; a file that changed since the walk is refused. At most
    ``MAX_OPEN_FILES`` files are open at a time.
    """

    def __init__(
        self,
        dna: Sequence[tuple[Path, int]],
        protein: Sequence[tuple[Path, int]],
        meta: dict[str, Any],
    ) -> None:
        self.meta = meta
        self.width = int(meta["width"])
        self._dna = _FileRows(dna, int(meta["dna_width"]))
        self._protein = _FileRows(protein, int(meta["protein_width"]))
        self.frames = self._dna.starts[-1]
        if self._protein.starts[-1] != self.frames:
            raise ModelMismatchError(
                f"{self.frames} DNA rows but {self._protein.starts[-1]} protein rows"
            )

    def rows(self, start: int, end: int) -> torch.Tensor:
        """Frames ``start:end`` as one float32 ``[DNA | protein]`` matrix."""
        out = torch.empty((end - start, self.width), dtype=torch.float32)
        split = self._dna.width
        out[:, :split] = self._dna.rows(start, end)
        out[:, split:] = self._protein.rows(start, end)
        return out

    def close(self) -> None:
        self._dna.close()
        self._protein.close()

    def __enter__(self) -> FeatureRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
