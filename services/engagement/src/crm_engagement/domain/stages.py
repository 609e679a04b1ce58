"""The opportunity stage machine (SPEC §2), as a pure function of the current stage, the
target and what the move carries; no database, no clock.

Stages in order: initial_contact → needs_analysis → proposal → negotiation → won | lost.

The rules (``docs/engagement.md`` "Opportunities"):

- Among the open stages a move may go forward (skipping stages is allowed: a deal can go from
  needs analysis straight to negotiation) or backward (a proposal sent back to needs
  analysis); every move carries a progress note, so a step back is always explained.
- ``won`` and ``lost`` close the opportunity and can be reached from any open stage; ``won``
  needs the actual amount and the contract number, ``lost`` a reason.
- A closed opportunity moves only back to an open stage (reopening), and only a sales manager
  or an admin may do it; from closed to closed (won → lost) is not a move: reopen first.
- A move to the stage it is in is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from crm_platform.errors import Forbidden, InvalidInput


class Stage(StrEnum):
    INITIAL_CONTACT = "initial_contact"
    NEEDS_ANALYSIS = "needs_analysis"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"

    @property
    def is_open(self) -> bool:
        return self not in CLOSED


CLOSED = frozenset({Stage.WON, Stage.LOST})
OPEN_STAGES = (Stage.INITIAL_CONTACT, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION)
# The funnel the conversion figures walk: each open stage, then won.
FUNNEL = (*OPEN_STAGES, Stage.WON)
DEFAULT_PROBABILITY = {
    Stage.INITIAL_CONTACT: 10,
    Stage.NEEDS_ANALYSIS: 25,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 75,
    Stage.WON: 100,
    Stage.LOST: 0,
}
STAGE_LABELS = {
    Stage.INITIAL_CONTACT: ("初步接触", "Initial contact"),
    Stage.NEEDS_ANALYSIS: ("需求分析", "Needs analysis"),
    Stage.PROPOSAL: ("方案提交", "Proposal"),
    Stage.NEGOTIATION: ("商务谈判", "Negotiation"),
    Stage.WON: ("成交", "Won"),
    Stage.LOST: ("失败", "Lost"),
}


class LostReason(StrEnum):
    BUDGET = "budget"
    COMPETITOR = "competitor"
    TIMING = "timing"
    NO_DECISION = "no_decision"
    REQUIREMENTS = "requirements"
    OTHER = "other"


class MoveKind(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    WIN = "win"
    LOSE = "lose"
    REOPEN = "reopen"


class IllegalStageMove(InvalidInput):
    slug = "illegal-stage-move"


class WonNeedsContract(InvalidInput):
    slug = "won-requires-contract"


class LostNeedsReason(InvalidInput):
    slug = "lost-requires-reason"


class ReopenNeedsManager(Forbidden):
    slug = "reopen-requires-manager"


@dataclass(frozen=True)
class StageMove:
    """What a request asks of the machine."""

    to: Stage
    actual_amount: Decimal | None = None
    contract_number: str | None = None
    lost_reason: LostReason | None = None


def decide_move(current: Stage, move: StageMove, *, may_reopen: bool) -> MoveKind:
    """The kind of a legal move from ``current``; raises the rule it breaks otherwise."""
    to = move.to
    if to == current:
        raise IllegalStageMove(
            f"The opportunity is already in {current}; a stage move must change the stage.",
            rule="stage-must-change",
            stage=current.value,
        )
    if not current.is_open:
        if not to.is_open:
            raise IllegalStageMove(
                f"A closed opportunity ({current}) cannot move to {to}: reopen it to an open "
                "stage first.",
                rule="closed-to-closed",
                stage=current.value,
                to=to.value,
            )
        if not may_reopen:
            raise ReopenNeedsManager(
                f"The opportunity is closed ({current}); only a sales manager or an admin may "
                "reopen it.",
                rule="reopen-requires-manager",
                stage=current.value,
            )
        return MoveKind.REOPEN
    if to == Stage.WON:
        if move.actual_amount is None or not (move.contract_number or "").strip():
            raise WonNeedsContract(
                "Moving to won needs the actual amount (actual_amount) and the contract number "
                "(contract_number).",
                rule="won-requires-contract",
            )
        return MoveKind.WIN
    if to == Stage.LOST:
        if move.lost_reason is None:
            raise LostNeedsReason(
                "Moving to lost needs a reason (lost_reason: budget, competitor, timing, "
                "no_decision, requirements or other).",
                rule="lost-requires-reason",
            )
        return MoveKind.LOSE
    if OPEN_STAGES.index(to) > OPEN_STAGES.index(current):
        return MoveKind.FORWARD
    return MoveKind.BACKWARD


def probability_after(move: MoveKind, to: Stage, requested: int | None) -> int:
    """The probability after a move: won 100 and lost 0 always; otherwise the requested one,
    or the new stage's default."""
    if move in (MoveKind.WIN, MoveKind.LOSE):
        return DEFAULT_PROBABILITY[to]
    return requested if requested is not None else DEFAULT_PROBABILITY[to]
