"""The satisfaction survey a customer answers from the link in their SMS or email: public at
the gateway (no sign-in), guarded by the link's signed, single-use, expiring token."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StringConstraints

from crm_platform.http.dependencies import SessionDep
from crm_service_desk.api.dependencies import Context
from crm_service_desk.domain import surveys
from crm_service_desk.domain.commands import AnswerSurvey

router = APIRouter(prefix="/v1/surveys", tags=["surveys"])

Token = Annotated[str, Path(min_length=20, max_length=1000, description="The link's token")]


class SurveyOut(BaseModel):
    code: str
    title: str
    customer_name: str
    resolution: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    expires_at: datetime
    answered: bool

    @classmethod
    def of(cls, view: surveys.SurveyView, answered: bool = False) -> "SurveyOut":
        return cls(
            code=view.ticket.code,
            title=view.ticket.title,
            customer_name=view.ticket.customer_name,
            resolution=view.ticket.resolution,
            resolved_at=view.ticket.resolved_at,
            closed_at=view.ticket.closed_at,
            expires_at=view.survey.expires_at,
            answered=answered,
        )


class SurveyAnswerIn(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


@router.get("/{token}", response_model=SurveyOut)
async def show_survey(token: Token, session: SessionDep, ctx: Context) -> SurveyOut:
    """The ticket's summary; 404 for a link that is not valid, 410 once expired, 409 once
    answered."""
    return SurveyOut.of(await surveys.show_survey(session, ctx, token))


@router.post("/{token}", response_model=SurveyOut)
async def answer_survey(
    token: Token, body: SurveyAnswerIn, session: SessionDep, ctx: Context
) -> SurveyOut:
    """Score the service once: the score lands on the ticket and in the agent's CSAT."""
    command = AnswerSurvey(token=token, score=body.score, comment=body.comment or None)
    return SurveyOut.of(await surveys.answer_survey(session, ctx, command), answered=True)
