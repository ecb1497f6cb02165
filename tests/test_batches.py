"""Training streams from the files: block-shuffled batches through a seeded buffer, losses read
once per epoch, and figures comparable with holding the split in memory."""

import numpy as np
import pytest
import torch

from conftest import default_recipe
from tensor_splits import TensorRows, tensor_split
from virnucpro_smk.classify.batches import (
    FrameSplit,
    read_ahead,
    shuffled_batches,
)
from virnucpro_smk.classify.metrics import binary_metrics
from virnucpro_smk.classify.mlp import score_split, train_splits


def _numbered(n, runs=None, label_at=None):
    """A source whose row k is (k, k): batches say which frames they hold."""
    x = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 2)
    runs = runs or ((0, n),)
    frames = [k for a, b in runs for k in range(a, b)]
    labels = torch.tensor([int(k >= (label_at or n)) for k in frames], dtype=torch.int8)
    return FrameSplit(TensorRows(x), tuple(runs), labels)


def _frames_of(batches):
    return [int(v) for x, _ in batches for v in x[:, 0]]


def test_one_buffer_takes_the_recipes_batches():
    """A split that fits one buffer is batched as the in-memory recipe did: one randperm of
    the split from the run's generator, cut in batch_size pieces."""
    split = _numbered(100)
    got = list(shuffled_batches(split, 32, 16, 128, torch.Generator().manual_seed(5)))
    order = torch.randperm(100, generator=torch.Generator().manual_seed(5))
    assert [len(y) for _, y in got] == [32, 32, 32, 4]
    assert _frames_of(got) == order.tolist()


def test_every_frame_once_per_epoch_mixed_across_the_split_and_seeded():
    """Several buffers: every frame of a scattered split once per epoch; a buffer draws its
    blocks from all over the split (a label-sorted split gives batches of both labels); the
    same seed gives the same batches, on every epoch a different order."""
    runs = ((3, 40), (50, 51), (60, 200))
    split = _numbered(200, runs, label_at=120)
    wanted = sorted(k for a, b in runs for k in range(a, b))

    def epochs(seed, n=2):
        generator = torch.Generator().manual_seed(seed)
        return [list(shuffled_batches(split, 8, 7, 28, generator)) for _ in range(n)]

    first, again, other = epochs(1), epochs(1), epochs(2)
    for epoch in first:
        assert sorted(_frames_of(epoch)) == wanted
        assert max(len(y) for _, y in epoch) == 8
        for x, y in epoch:  # labels travel with their rows
            assert torch.equal(y, (x[:, 0] >= 120).long())
    assert [_frames_of(e) for e in first] == [_frames_of(e) for e in again]
    assert _frames_of(first[0]) != _frames_of(first[1])
    assert _frames_of(first[0]) != _frames_of(other[0])
    mixed = sum(len(set(y.tolist())) == 2 for _, y in first[0])
    assert mixed >= len(first[0]) // 2, mixed  # sorted blocks, batches of both labels


def test_read_ahead_hands_over_the_producers_error_and_stops_early():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(read_ahead(items(), 1))
    endless = read_ahead(iter(range(10**9)), 2)
    assert next(endless) == 0
    endless.close()  # joins the producer instead of reading 10**9 items


@pytest.fixture(autouse=True)
def one_thread():
    """The test machine is shared: torch's spinning threads only slow these small models."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _noisy(n, width=16, seed=0):
    """Frames a classifier can learn only in part (AUC well below 1, so a worse shuffle
    would show), viral first: a split ordered by dataset, as the manifest orders it."""
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.ones(n // 2), torch.zeros(n - n // 2)]).long()
    x = torch.randn(n, width, generator=g)
    x[:, :3] += (y[:, None].float() * 2 - 1) * 0.35
    return x, y


def test_a_split_larger_than_the_buffer_trains_as_well_as_one_in_memory():
    x, y = _noisy(4000)
    held_x, held_y = _noisy(2000, seed=1)
    mixed = torch.randperm(2000, generator=torch.Generator().manual_seed(1))
    held_x, held_y = held_x[mixed], held_y[mixed]
    val = tensor_split(held_x[:1000], held_y[:1000])
    test_x, test_y = held_x[1000:], held_y[1000:]
    aucs = {}
    for buffer in (4096, 512):  # the whole split in one buffer; 8 buffers of 8 blocks
        cfg = default_recipe(
            max_epochs=5, lr=0.05, batch_size=128, seed=3, block_frames=64, buffer_frames=buffer
        )
        model, _ = train_splits(tensor_split(x, y), val, cfg)
        scores = score_split(model, tensor_split(test_x, test_y)).numpy()
        aucs[buffer] = binary_metrics(test_y.numpy(), scores)["roc_auc"]
    assert 0.7 < aucs[4096] < 0.95, aucs
    assert abs(aucs[512] - aucs[4096]) < 0.03, aucs


def test_losses_are_read_once_per_epoch(monkeypatch):
    """No host sync per step: the training loop reads device values (``item``, ``tolist``)
    a bounded number of times per epoch, not once per batch (63 batches an epoch here)."""
    x, y = _noisy(2500)
    reads = []
    for name in ("item", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, **k):
            reads.append(1)
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    cfg = default_recipe(max_epochs=3, patience=10, seed=1, block_frames=100, buffer_frames=1000)
    train_splits(tensor_split(x[:2000], y[:2000]), tensor_split(x[2000:], y[2000:]), cfg)
    # per epoch: the block order, the train loss, the validation figures
    assert len(reads) <= 3 * 3, len(reads)


def test_labels_and_runs_must_agree():
    with pytest.raises(ValueError, match="3 frames in the runs, 2 labels"):
        FrameSplit(TensorRows(torch.zeros(5, 2)), ((0, 3),), torch.zeros(2, dtype=torch.int8))
    split = _numbered(10, ((0, 3), (5, 10)))
    blocks = split.blocks(4)
    assert [b.pieces for b in blocks] == [((0, 3), (5, 6)), ((6, 10),)]
    x, y = split.read(blocks[0])
    assert x[:, 0].tolist() == [0, 1, 2, 5] and np.array_equal(y.numpy(), [0, 0, 0, 0])
