"""The migration decision: the accuracy and speed verdicts combined, stand-ins refused.

The two verdicts stay apart in the report (``accuracy``: non_inferior / inferior /
inconclusive; ``speed``: fast_enough / too_slow / inconclusive) because they answer
different questions: a candidate as accurate as the baseline but only 1.2x faster is not
*worse*, it is not fast enough. The combined ``decision``:

* ``candidate_ok``: accuracy ``non_inferior`` and speed ``fast_enough``;
* ``candidate_rejected``: accuracy ``inferior`` or speed ``too_slow`` (the reasons say which);
* ``inconclusive``: anything else, and always when a compared model is a stand-in (a tiny
  random-weight model: its figures test the workflow, not the models it stands in for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .noninferiority import INFERIOR, NON_INFERIOR
from .speed_runs import FAST_ENOUGH, TOO_SLOW

CANDIDATE_OK, CANDIDATE_REJECTED, INCONCLUSIVE = (
    "candidate_ok",
    "candidate_rejected",
    "inconclusive",
)
DECISIONS = (CANDIDATE_OK, CANDIDATE_REJECTED, INCONCLUSIVE)


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: list[str]
    standin_models: list[str]


def standin_reason(models: Sequence[str]) -> str:
    return (
        f"stand-in models compared ({', '.join(models)}): tiny random-weight models that "
        "test the workflow, so these figures say nothing about the models they stand in for"
    )


def decide(
    accuracy: str,
    accuracy_reasons: Sequence[str],
    speed: str,
    speed_reasons: Sequence[str],
    standin_models: Sequence[str] = (),
) -> Decision:
    """The combined decision (see the module doc), with every reason in one list."""
    reasons = [*accuracy_reasons, *speed_reasons]
    if standin_models:
        return Decision(
            INCONCLUSIVE, [standin_reason(standin_models), *reasons], list(standin_models)
        )
    if accuracy == INFERIOR or speed == TOO_SLOW:
        decision = CANDIDATE_REJECTED
    elif accuracy == NON_INFERIOR and speed == FAST_ENOUGH:
        decision = CANDIDATE_OK
    else:
        decision = INCONCLUSIVE
    return Decision(decision, reasons, [])
