"""Training minibatches read from the embedding files, shuffled by block through a seeded buffer.

A training set no longer has to fit in memory: 10M frames at 3,328 floats (ESM2 3B) are
133 GB, more than a node's RAM or a GPU. A split is a list of runs of frame numbers in a row
source (the embedding files, ``features.FeatureRows``; a tensor in tests), and every pass over
it reads blocks of ``block_frames`` consecutive frames, so memory is one buffer and a few blocks,
whatever the number of frames.

Why blocks and a shuffle buffer rather than a global index: a random permutation of frame
numbers reads one 8-13 kB row per seek, 10M seeks an epoch; that is fine from the page cache
but slow from disk and ruinous on a cluster file system, and the files are too large to assume
the page cache. Blocks of 256 frames are 0.8 MB (DNABERT-S) and 2.6 MB (ESM2 3B) sequential
reads, and ``buffer_frames / block_frames`` (128) blocks drawn from all over the split fill
the buffer, whose rows are then permuted: each batch mixes frames from 128 places of the split
(the manifest orders a split by dataset and file position, so a block is one region of one
dataset: viral and non-viral blocks mix in every buffer).

Reproducible for a seed: the block order of each epoch and the row permutation of each buffer
are drawn from the run's one CPU generator, in that order, so CPU and GPU runs take the same
batches; a buffer's permutation goes to the device once, so no per-step index tensor crosses
from the host. When the whole split fits in one buffer (the stand-in set, tests) no block
order is drawn: the one permutation of the buffer is the recipe's ``randperm`` over the split,
so small sets take exactly the batches they took in memory (the validation loss, now summed
a block at a time, can differ in its last bits).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import torch

T = TypeVar("T")

#: Blocks read ahead of the training loop by a background thread.
READ_AHEAD_BLOCKS = 8


class RowSource(Protocol):
    """Rows ``start:end`` of a frame set as a float32 matrix (``features.FeatureRows``; tests
    use tensors)."""

    width: int

    def rows(self, start: int, end: int) -> torch.Tensor: ...


@dataclass(frozen=True)
class Block:
    """``frames`` frames of a split: its pieces (runs of frame numbers of the source) and
    where its labels start in the split's label vector."""

    label_start: int
    pieces: tuple[tuple[int, int], ...]

    @property
    def frames(self) -> int:
        return sum(end - start for start, end in self.pieces)


@dataclass(frozen=True)
class FrameSplit:
    """The frames of one split: runs of frame numbers of ``source``, in order, and their labels.

    ``labels`` holds one byte per frame (10M frames: 10 MB), in run order; everything else is
    read from the source when a block is needed.
    """

    source: RowSource
    runs: tuple[tuple[int, int], ...]
    labels: torch.Tensor
    _cuts: dict[int, tuple[Block, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        frames = sum(end - start for start, end in self.runs)
        if frames != len(self.labels):
            raise ValueError(f"{frames} frames in the runs, {len(self.labels)} labels")

    @property
    def frames(self) -> int:
        return len(self.labels)

    @property
    def width(self) -> int:
        return self.source.width

    def blocks(self, block_frames: int) -> tuple[Block, ...]:
        """The split cut into blocks of ``block_frames`` frames (the last may be shorter);
        a block may span runs (a block of a scattered split gathers its pieces)."""
        if block_frames not in self._cuts:
            self._cuts[block_frames] = tuple(_cut(self.runs, block_frames))
        return self._cuts[block_frames]

    def read(self, block: Block) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's rows (float32) and labels (int64)."""
        parts = [self.source.rows(start, end) for start, end in block.pieces]
        x = parts[0] if len(parts) == 1 else torch.cat(parts)
        y = self.labels[block.label_start : block.label_start + block.frames].long()
        return x, y


def _cut(runs: Sequence[tuple[int, int]], size: int) -> Iterator[Block]:
    if size < 1:
        raise ValueError(f"block size must be positive, got {size}")
    pieces: list[tuple[int, int]] = []
    held = label = 0
    for start, end in runs:
        while start < end:
            take = min(end - start, size - held)
            pieces.append((start, start + take))
            start, held = start + take, held + take
            if held == size:
                yield Block(label, tuple(pieces))
                label, pieces, held = label + held, [], 0
    if pieces:
        yield Block(label, tuple(pieces))


def read_ahead(items: Iterable[T], depth: int = READ_AHEAD_BLOCKS) -> Iterator[T]:
    """``items`` produced by a background thread up to ``depth`` ahead of the consumer.

    File reads release the GIL, so the next blocks are read while the device trains on the
    current buffer. The producer's exception is raised in the consumer; a consumer that stops
    early (early stopping, an error) stops the producer.
    """
    if depth <= 0:
        yield from items
        return
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put((done, exc))

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)


def epoch_buffers(
    split: FrameSplit,
    block_frames: int,
    buffer_frames: int,
    generator: torch.Generator,
) -> Iterator[tuple[Block, ...]]:
    """The epoch's buffers: groups of ``buffer_frames // block_frames`` blocks in a seeded order.

    One draw from ``generator`` per epoch (the block order), none when the split fits in one
    buffer (its rows are permuted anyway; see the module docstring).
    """
    blocks = split.blocks(block_frames)
    per_buffer = max(1, buffer_frames // block_frames)
    if len(blocks) <= per_buffer:
        order = list(range(len(blocks)))
    else:
        order = torch.randperm(len(blocks), generator=generator).tolist()
    for start in range(0, len(order), per_buffer):
        yield tuple(blocks[k] for k in order[start : start + per_buffer])


def shuffled_batches(
    split: FrameSplit,
    batch_size: int,
    block_frames: int,
    buffer_frames: int,
    generator: torch.Generator,
    device: str | torch.device = "cpu",
    read_ahead_blocks: int = READ_AHEAD_BLOCKS,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of ``(x, y)`` training batches on ``device``, block-shuffled (module docstring).

    Each buffer is filled block by block (read ahead in a thread), moved to the device once,
    and cut into batches by one permutation drawn on the CPU and moved there once: indexing
    happens on the device, with nothing read back. The last batch of a buffer may be short.
    """
    device = torch.device(device)
    buffers = list(epoch_buffers(split, block_frames, buffer_frames, generator))
    blocks = read_ahead(
        ((block, split.read(block)) for buffer in buffers for block in buffer), read_ahead_blocks
    )
    x_buffer: torch.Tensor | None = None
    y_buffer: torch.Tensor | None = None
    try:
        for buffer in buffers:
            n = sum(block.frames for block in buffer)
            if x_buffer is None or len(x_buffer) < n:
                x_buffer = torch.empty((n, split.width), dtype=torch.float32, device=device)
                y_buffer = torch.empty((n,), dtype=torch.long, device=device)
            assert y_buffer is not None
            filled = 0
            for expected in buffer:
                block, (x, y) = next(blocks)
                assert block is expected
                x_buffer[filled : filled + len(y)].copy_(x)
                y_buffer[filled : filled + len(y)].copy_(y)
                filled += len(y)
                del x, y
            order = torch.randperm(n, generator=generator).to(device, non_blocking=True)
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                yield x_buffer[index], y_buffer[index]
    finally:
        blocks.close()  # stops the read-ahead thread, also when the consumer stops early


def ordered_chunks(
    split: FrameSplit, frames: int, device: str | torch.device = "cpu"
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The split in order, ``frames`` frames at a time (a block), on ``device``: validation
    and test are read as training is, so their memory is a few blocks too."""
    device = torch.device(device)
    blocks = read_ahead((split.read(block) for block in split.blocks(frames)), 2)
    try:
        for x, y in blocks:
            yield x.to(device), y.to(device)
    finally:
        blocks.close()
