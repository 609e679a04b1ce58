"""Scoring a customer relationship (客户关系评估表, seed 003): weighted total, grade and
recommendation. Pure functions, so the rules are tested without a database.

- Each indicator's score is read as a share of its ``max_score`` and weighted; the weights are
  relative (divided by their sum), so the total is always on 0..100 even after an indicator is
  deactivated. The default indicators' weights sum to 100, so a weight reads as "points".
- The total is rounded once, to 2 places, half up; the grade is decided on that rounded total,
  so the grade always agrees with the total a person sees.
- Grade: A when total >= grade_a_min, B when total >= grade_b_min, else C.
- Recommendation: by grade (default A maintain, B improve, C improve); a total below
  ``terminate_below`` recommends terminating the relationship whatever the grade mapping says.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from crm_customers.domain.enums import Grade, Recommendation

CENTS = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class IndicatorScore:
    """One line of the evaluation form: an indicator's weight, its scale and the score given."""

    weight: Decimal
    max_score: Decimal
    score: Decimal


@dataclass(frozen=True)
class GradingRules:
    grade_a_min: Decimal
    grade_b_min: Decimal
    terminate_below: Decimal
    recommendations: Mapping[Grade, Recommendation]


@dataclass(frozen=True)
class Scoring:
    total: Decimal
    grade: Grade
    recommendation: Recommendation
    points: tuple[Decimal, ...]
    """Each line's contribution to the total, rounded for display (their sum may differ from
    ``total`` by a cent: the total is rounded once, not summed from rounded parts)."""


DEFAULT_RULES = GradingRules(
    grade_a_min=Decimal(85),
    grade_b_min=Decimal(60),
    terminate_below=Decimal(40),
    recommendations={
        Grade.A: Recommendation.MAINTAIN,
        Grade.B: Recommendation.IMPROVE,
        Grade.C: Recommendation.IMPROVE,
    },
)


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def _exact_points(lines: Sequence[IndicatorScore]) -> list[Decimal]:
    if not lines:
        raise ValueError("an evaluation needs at least one indicator")
    weight_sum = sum((line.weight for line in lines), Decimal(0))
    if weight_sum <= 0:
        raise ValueError("indicator weights must be positive")
    points = []
    for line in lines:
        if line.max_score <= 0:
            raise ValueError("max_score must be positive")
        if not Decimal(0) <= line.score <= line.max_score:
            raise ValueError(f"score {line.score} is outside 0..{line.max_score}")
        points.append(line.score / line.max_score * line.weight / weight_sum * HUNDRED)
    return points


def weighted_total(lines: Sequence[IndicatorScore]) -> Decimal:
    """The 0..100 total of an evaluation, rounded to 2 places."""
    return round_cents(sum(_exact_points(lines), Decimal(0)))


def grade_for(total: Decimal, rules: GradingRules) -> Grade:
    if total >= rules.grade_a_min:
        return Grade.A
    if total >= rules.grade_b_min:
        return Grade.B
    return Grade.C


def recommendation_for(total: Decimal, grade: Grade, rules: GradingRules) -> Recommendation:
    if total < rules.terminate_below:
        return Recommendation.TERMINATE
    return Recommendation(rules.recommendations[grade])


def score(lines: Sequence[IndicatorScore], rules: GradingRules) -> Scoring:
    """Total, grade and recommendation of one filled-in evaluation form."""
    exact = _exact_points(lines)
    total = round_cents(sum(exact, Decimal(0)))
    grade = grade_for(total, rules)
    return Scoring(
        total=total,
        grade=grade,
        recommendation=recommendation_for(total, grade, rules),
        points=tuple(round_cents(p) for p in exact),
    )


def rules_error(rules: GradingRules) -> tuple[str, str] | None:
    """The first broken constraint of a policy as (field, message), or None when it is sound:
    0 <= terminate_below <= grade_b_min < grade_a_min <= 100, and a recommendation per grade."""
    if not Decimal(0) < rules.grade_a_min <= HUNDRED:
        return "grade_a_min", "must be above 0 and at most 100"
    if not Decimal(0) <= rules.grade_b_min < rules.grade_a_min:
        return "grade_b_min", "must be at least 0 and below grade_a_min"
    if not Decimal(0) <= rules.terminate_below <= rules.grade_b_min:
        return "terminate_below", "must be at least 0 and at most grade_b_min (it applies to C)"
    missing = [g.value for g in Grade if g not in rules.recommendations]
    if missing:
        return "recommendations", f"need an entry for grade {', '.join(missing)}"
    return None
