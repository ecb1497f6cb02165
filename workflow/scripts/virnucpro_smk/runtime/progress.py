"""Progress lines for long jobs: records done / total, rate and ETA, at a bounded interval.

Cluster users watch log files, not terminals, so progress is logged (not drawn as a bar) at
most every ``interval`` seconds and always at the end.
"""

from __future__ import annotations

import logging
import time


class Progress:
    """Log ``done/total``, rate and ETA every ``interval`` seconds (and once when finished)."""

    def __init__(
        self,
        label: str,
        total: int | None,
        unit: str = "records",
        interval: float = 30.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.interval = interval
        self.log = logger or logging.getLogger("virnucpro_smk.runtime.progress")
        self.done = 0
        self.start = time.monotonic()
        self._last = self.start

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(now)

    def finish(self) -> None:
        self._emit(time.monotonic(), final=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def _emit(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            left = max(self.total - self.done, 0)
            eta = f", ETA {left / rate:.0f} s" if rate > 0 and not final else ""
            where = f"{self.done}/{self.total} {self.unit} ({100 * self.done / self.total:.1f} %)"
        else:
            eta, where = "", f"{self.done} {self.unit}"
        state = "done" if final else "progress"
        self.log.info("%s %s: %s, %.1f %s/s%s", self.label, state, where, rate, self.unit, eta)
