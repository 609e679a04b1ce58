"""Request and response bodies of the opportunities and analytics API.

Amounts are CNY ``Decimal`` with at most 2 places and 12 integer digits (NUMERIC(14,2)); they
are accepted as JSON strings or numbers and always answered as strings (``"120000.00"``), so
no client ever sees a binary float.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_engagement.db.opportunity_models import Opportunity, OpportunityStageChange
from crm_engagement.domain.analytics import PipelineAnalytics
from crm_engagement.domain.commands import (
    Competitor,
    CreateOpportunity,
    MoveOpportunityStage,
)
from crm_engagement.domain.opportunities import OpportunityDetail
from crm_engagement.domain.stages import LostReason, Stage
from crm_platform.http.patch import Clearable, PatchBody

Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, examples=["120000.00"])]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=4000)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Probability = Annotated[int, Field(ge=0, le=100)]
ContractNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompetitorIn(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    analysis: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        None
    )

    def value(self) -> Competitor:
        return Competitor(name=self.name, analysis=self.analysis)


Competitors = Annotated[list[CompetitorIn], Field(max_length=20)]


class OpportunityCreate(Strict):
    customer_id: uuid.UUID
    name: Name
    expected_amount: Amount
    expected_close_on: date | None = None
    stage: Stage = Field(default=Stage.INITIAL_CONTACT, description="An open stage")
    probability: Probability | None = Field(
        default=None, description="Percent; default by stage (10/25/50/75)"
    )
    competitors: Competitors = []
    strengths: Text | None = None
    weaknesses: Text | None = None
    owner_id: UserId | None = Field(default=None, description="Default: the customer's owner")
    evaluated_on: date | None = None
    note: Note | None = Field(default=None, description="The first progress note")

    def command(self) -> CreateOpportunity:
        return CreateOpportunity(
            customer_id=self.customer_id,
            name=self.name,
            expected_amount=self.expected_amount,
            expected_close_on=self.expected_close_on,
            stage=self.stage,
            probability=self.probability,
            competitors=tuple(c.value() for c in self.competitors),
            strengths=self.strengths,
            weaknesses=self.weaknesses,
            owner_id=self.owner_id,
            evaluated_on=self.evaluated_on,
            note=self.note,
        )


class OpportunityPatch(PatchBody):
    """Only what changes; ``null`` clears the close date, strengths, weaknesses or the
    evaluation date. The stage changes through ``POST /v1/opportunities/{id}/stage``."""

    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Or If-Match")
    name: Name | None = None
    expected_amount: Amount | None = None
    expected_close_on: Annotated[date | None, Clearable] = None
    probability: Probability | None = None
    competitors: Competitors | None = None
    strengths: Annotated[Text | None, Clearable] = None
    weaknesses: Annotated[Text | None, Clearable] = None
    owner_id: UserId | None = None
    evaluated_on: Annotated[date | None, Clearable] = None

    def changes(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.model_fields_set if name != "version"}
        if values.get("competitors") is not None:
            values["competitors"] = [c.value() for c in values["competitors"]]
        return values


class StageMoveIn(Strict):
    to: Stage
    note: Note = Field(description="The progress note every stage change records")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Or If-Match")
    probability: Probability | None = Field(
        default=None, description="Open stages only; default: the new stage's"
    )
    actual_amount: Amount | None = Field(default=None, description="Required to move to won")
    contract_number: ContractNumber | None = Field(
        default=None, description="Required to move to won"
    )
    lost_reason: LostReason | None = Field(default=None, description="Required to move to lost")
    lost_detail: Text | None = None

    def command(self, opportunity_id: uuid.UUID, version: int) -> MoveOpportunityStage:
        return MoveOpportunityStage(
            opportunity_id=opportunity_id,
            to=self.to,
            note=self.note,
            expected_version=version,
            probability=self.probability,
            actual_amount=self.actual_amount,
            contract_number=self.contract_number,
            lost_reason=self.lost_reason,
            lost_detail=self.lost_detail,
        )


class CompetitorOut(BaseModel):
    name: str
    analysis: str | None = None


class StageChangeOut(BaseModel):
    from_stage: Stage | None
    to_stage: Stage
    note: str
    changed_by: str
    changed_at: datetime
    expected_amount: Decimal
    probability: int
    actual_amount: Decimal | None
    contract_number: str | None
    lost_reason: str | None
    lost_detail: str | None

    @classmethod
    def of(cls, step: OpportunityStageChange) -> "StageChangeOut":
        return cls(**{f: getattr(step, f) for f in cls.model_fields})


class OpportunityOut(BaseModel):
    id: uuid.UUID
    code: str
    customer_id: uuid.UUID
    name: str
    expected_amount: Decimal
    expected_close_on: date | None
    stage: Stage
    probability: int
    competitors: list[CompetitorOut]
    strengths: str | None
    weaknesses: str | None
    owner_id: str
    evaluated_on: date | None
    actual_amount: Decimal | None
    contract_number: str | None
    lost_reason: str | None
    lost_detail: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int

    @classmethod
    def of(cls, opportunity: Opportunity) -> "OpportunityOut":
        values = {f: getattr(opportunity, f) for f in cls.model_fields if f != "competitors"}
        return cls(
            **values,
            competitors=[CompetitorOut(**c) for c in opportunity.competitors or []],
        )


class OpportunityDetailOut(OpportunityOut):
    history: list[StageChangeOut]

    @classmethod
    def of_detail(cls, detail: OpportunityDetail) -> "OpportunityDetailOut":
        base = OpportunityOut.of(detail.opportunity)
        return cls(**base.model_dump(), history=[StageChangeOut.of(s) for s in detail.history])


class OpportunityPage(BaseModel):
    items: list[OpportunityOut]
    total: int
    page: int
    page_size: int


class StageFigureOut(BaseModel):
    stage: Stage
    count: int
    expected_amount: Decimal
    weighted_amount: Decimal = Field(description="expected amount * probability / 100")


class ConversionOut(BaseModel):
    from_stage: Stage
    to_stage: Stage
    reached_from: int
    reached_to: int
    rate: Decimal | None = Field(description="reached_to / reached_from, 4 places")


class PipelineAnalyticsOut(BaseModel):
    owner_id: str | None
    basis: str
    date_from: date | None
    date_to: date | None
    stages: list[StageFigureOut]
    open_count: int
    open_expected_amount: Decimal
    weighted_pipeline: Decimal = Field(description="Σ weighted amount of the open stages")
    conversions: list[ConversionOut]
    won_count: int
    lost_count: int
    win_rate: Decimal | None = Field(description="won / (won + lost), 4 places")
    won_amount: Decimal = Field(description="Σ actual amounts of the won opportunities")
    average_cycle_days: Decimal | None = Field(description="Won: created → closed, in days")
    lost_reasons: dict[str, int]

    @classmethod
    def of(cls, figures: PipelineAnalytics) -> "PipelineAnalyticsOut":
        return cls(
            owner_id=figures.owner_id,
            basis=figures.basis,
            date_from=figures.date_from,
            date_to=figures.date_to,
            stages=[StageFigureOut(**s.__dict__) for s in figures.stages],
            open_count=figures.open_count,
            open_expected_amount=figures.open_expected_amount,
            weighted_pipeline=figures.weighted_pipeline,
            conversions=[ConversionOut(**c.__dict__) for c in figures.conversions],
            won_count=figures.won_count,
            lost_count=figures.lost_count,
            win_rate=figures.win_rate,
            won_amount=figures.won_amount,
            average_cycle_days=figures.average_cycle_days,
            lost_reasons=figures.lost_reasons,
        )
