"""Logging set-up for rule scripts: one log file per job, user errors without tracebacks."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import VirNucProError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)


@contextlib.contextmanager
def rule_logging(smk: Any) -> Iterator[logging.Logger]:
    """Log to the job's ``log:`` file; turn VirNucProError into a one-line error and exit 1,
    Ctrl-C into one line and exit 130.

    Anything else is a bug and keeps its traceback (in the log file too).
    """
    log_file = smk.log[0] if len(smk.log) else None
    setup_logging(log_file)
    logger = logging.getLogger(f"virnucpro_smk.rule.{smk.rule}")
    placement = {
        k: os.environ[k]
        for k in ("SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES", "HOSTNAME")
        if k in os.environ
    }
    logger.info(
        "rule %s starts (%s)",
        smk.rule,
        ", ".join(f"{k}={v}" for k, v in placement.items()) or "local",
    )
    try:
        yield logger
    except VirNucProError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except KeyboardInterrupt:
        # Ctrl-C reaches every job of the run: one line each, not a traceback from wherever
        # the job happened to be; 130 = killed by SIGINT, as a shell reports it
        logger.error("rule %s interrupted (Ctrl-C): its outputs are not kept", smk.rule)
        sys.exit(130)
    except Exception:
        logger.exception("rule %s failed with an unexpected error", smk.rule)
        raise
