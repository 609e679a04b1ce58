"""The opportunity stage machine, table-driven: every (from, to) pair and what it needs."""

from decimal import Decimal

import pytest

from crm_engagement.domain.stages import (
    DEFAULT_PROBABILITY,
    IllegalStageMove,
    LostNeedsReason,
    LostReason,
    MoveKind,
    ReopenNeedsManager,
    Stage,
    StageMove,
    WonNeedsContract,
    decide_move,
    probability_after,
)

C, N, P, G, W, L = (
    Stage.INITIAL_CONTACT,
    Stage.NEEDS_ANALYSIS,
    Stage.PROPOSAL,
    Stage.NEGOTIATION,
    Stage.WON,
    Stage.LOST,
)
WON_FACTS = {"actual_amount": Decimal("98000.00"), "contract_number": "HT-2026-001"}
LOST_FACTS = {"lost_reason": LostReason.COMPETITOR}

# (from, to, extra move facts, may_reopen, expected kind or error, rule named)
CASES = [
    (C, N, {}, False, MoveKind.FORWARD, None),
    (C, G, {}, False, MoveKind.FORWARD, None),  # skipping forward is allowed
    (N, P, {}, False, MoveKind.FORWARD, None),
    (P, G, {}, False, MoveKind.FORWARD, None),
    (G, P, {}, False, MoveKind.BACKWARD, None),  # back among open stages, with its note
    (P, C, {}, False, MoveKind.BACKWARD, None),
    (C, W, WON_FACTS, False, MoveKind.WIN, None),  # closing from any open stage
    (G, W, WON_FACTS, False, MoveKind.WIN, None),
    (N, L, LOST_FACTS, False, MoveKind.LOSE, None),
    (G, L, LOST_FACTS, False, MoveKind.LOSE, None),
    (W, G, {}, True, MoveKind.REOPEN, None),
    (L, C, {}, True, MoveKind.REOPEN, None),
    (G, G, {}, False, IllegalStageMove, "stage-must-change"),
    (W, W, WON_FACTS, True, IllegalStageMove, "stage-must-change"),
    (W, L, LOST_FACTS, True, IllegalStageMove, "closed-to-closed"),
    (L, W, WON_FACTS, True, IllegalStageMove, "closed-to-closed"),
    (W, G, {}, False, ReopenNeedsManager, "reopen-requires-manager"),
    (L, P, {}, False, ReopenNeedsManager, "reopen-requires-manager"),
    (G, W, {}, False, WonNeedsContract, "won-requires-contract"),
    (G, W, {"actual_amount": Decimal("1")}, False, WonNeedsContract, "won-requires-contract"),
    (G, W, {"contract_number": "HT-1"}, False, WonNeedsContract, "won-requires-contract"),
    (
        G,
        W,
        {"actual_amount": Decimal("1"), "contract_number": "  "},
        False,
        WonNeedsContract,
        "won-requires-contract",
    ),
    (P, L, {}, False, LostNeedsReason, "lost-requires-reason"),
]


@pytest.mark.parametrize(("current", "to", "facts", "may_reopen", "expected", "rule"), CASES)
def test_stage_moves(current, to, facts, may_reopen, expected, rule) -> None:
    move = StageMove(to=to, **facts)
    if isinstance(expected, MoveKind):
        assert decide_move(current, move, may_reopen=may_reopen) == expected
        return
    with pytest.raises(expected) as raised:
        decide_move(current, move, may_reopen=may_reopen)
    assert raised.value.facts["rule"] == rule
    assert raised.value.slug in (rule, "illegal-stage-move")


def test_every_pair_of_stages_is_decided_one_way_or_another() -> None:
    """No pair raises anything but the machine's own refusals."""
    for current in Stage:
        for to in Stage:
            move = StageMove(to=to, **WON_FACTS, lost_reason=LostReason.OTHER)
            try:
                decide_move(current, move, may_reopen=True)
            except IllegalStageMove:
                assert current == to or not (current.is_open or to.is_open)


@pytest.mark.parametrize(
    ("kind", "to", "requested", "expected"),
    [
        (MoveKind.FORWARD, P, None, 50),
        (MoveKind.FORWARD, P, 60, 60),
        (MoveKind.BACKWARD, N, None, 25),
        (MoveKind.REOPEN, G, None, 75),
        (MoveKind.WIN, W, 30, 100),  # closing fixes the probability
        (MoveKind.LOSE, L, 30, 0),
    ],
)
def test_probability_after_a_move(kind, to, requested, expected) -> None:
    assert probability_after(kind, to, requested) == expected


def test_default_probabilities() -> None:
    assert [DEFAULT_PROBABILITY[s] for s in Stage] == [10, 25, 50, 75, 100, 0]
