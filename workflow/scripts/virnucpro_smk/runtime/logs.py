"""Logging set-up for rule scripts: one log file per job, user errors without tracebacks."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import VirNucProError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: OSErrors that are the machine's state, not a bug, with what to do: one line, no traceback.
_MACHINE_ERRORS = {
    errno.ENOSPC: "free space on the output's file system",
    errno.EDQUOT: "free space within your disk quota",
    errno.EROFS: "write the outputs to a writable file system (config key outdir)",
    errno.EACCES: "check the permissions of the file named",
}


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)


#: Where the rule scripts live (this package's parent directory).
RULE_SCRIPTS = Path(__file__).resolve().parents[2]


def in_rule_script() -> bool:
    """True in a Snakemake ``script:`` job: the main program is one of the rule scripts, or
    the copy of one that Snakemake runs from ``.snakemake/scripts/``. (Not judged by
    ``__main__.snakemake``: the package is first imported while Snakemake's preamble unpickles
    that object, since some rules' params hold a ModelSpec.)"""
    main = Path(getattr(sys.modules.get("__main__"), "__file__", None) or "/")
    return main.resolve().parent == RULE_SCRIPTS or (
        main.parent.name == "scripts" and main.parent.parent.name == ".snakemake"
    )


def quiet_interrupts_while_starting() -> None:
    """Until ``rule_logging`` takes over, Ctrl-C ends the job with one line, exit 130.

    A job spends its first seconds importing torch and transformers; Ctrl-C then would print
    a long traceback from inside torch. Installed by the package's ``__init__`` only inside a
    rule script (never for other users of the package, whose Ctrl-C stays theirs).
    """

    def _stop(signum: int, frame: Any) -> None:
        sys.stderr.write("job interrupted (Ctrl-C) while starting\n")
        os._exit(130)  # nothing to clean up yet: no output is open before rule_logging

    signal.signal(signal.SIGINT, _stop)


@contextlib.contextmanager
def rule_logging(smk: Any) -> Iterator[logging.Logger]:
    """Log to the job's ``log:`` file; turn VirNucProError into a one-line error and exit 1,
    Ctrl-C into one line and exit 130, the machine's own faults (a full disk, a quota, a
    read-only or unreadable path: :data:`_MACHINE_ERRORS`) into one line and exit 1.

    Anything else is a bug and keeps its traceback (in the log file too).
    """
    log_file = smk.log[0] if len(smk.log) else None
    # from here Ctrl-C raises KeyboardInterrupt again: the block's writers clean up their
    # temporary files on the way out, and the handler below says it in one line
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
    except OSError as exc:
        hint = _MACHINE_ERRORS.get(exc.errno or -1)
        if hint is None:  # anything else is a bug: keep its traceback
            logger.exception("rule %s failed with an unexpected error", smk.rule)
            raise
        # the machine's, not the code's: a full disk, a quota, a read-only or foreign
        # directory; every output is written atomically, so nothing half-written is left
        where = f" ({exc.filename})" if exc.filename else ""
        logger.error(
            "rule %s: %s%s: its outputs are not kept; %s and rerun",
            smk.rule,
            exc.strerror or exc,
            where,
            hint,
        )
        sys.exit(1)
    except Exception:
        logger.exception("rule %s failed with an unexpected error", smk.rule)
        raise
