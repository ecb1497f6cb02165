import logging

from virnucpro_smk.runtime.progress import Progress


def test_progress_lines_carry_done_total_rate_and_eta(caplog):
    caplog.set_level(logging.INFO)
    progress = Progress("extract", 200, interval=0.0, logger=logging.getLogger("t"))
    progress.update(50)
    progress.finish()
    first, last = caplog.messages
    assert "50/200 records (25.0 %)" in first and "records/s" in first and "ETA" in first
    assert last.startswith("extract done: 50/200") and "ETA" not in last


def test_progress_is_rate_limited(caplog):
    caplog.set_level(logging.INFO)
    progress = Progress("x", None, interval=3600, logger=logging.getLogger("t"))
    for _ in range(1000):
        progress.update()
    assert caplog.messages == []
