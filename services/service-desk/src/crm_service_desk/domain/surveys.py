"""Satisfaction surveys (SPEC §3): closing a ticket issues a survey whose link the customer
answers without signing in, once, before it expires.

The link's token is a JWT (HS256) signed with a key derived from ``CRM_DATA_KEY``; its
subject is the survey's id. A token that does not verify, or names no survey, is not found
(404: nothing tells a guesser what exists); a verified one past its expiry is gone (410); an
answered one conflicts (409). Expiry is the survey row's ``expires_at`` against the injected
clock, so tests move time instead of waiting, and the row (not the token) is the truth: an
admin could end a survey early. The answer is claimed with one conditional update, so two
submissions of one link record one score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import jwt
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.crypto import derive_key
from crm_platform.errors import Conflict, Gone, NotFound
from crm_platform.events.outbox import add_event
from crm_service_desk.db import survey_repository as repo
from crm_service_desk.db.ticket_models import Survey, Ticket, TicketLogEntry
from crm_service_desk.domain.commands import AnswerSurvey
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.events import published as ev

AUDIENCE = "crm-survey"
ALGORITHM = "HS256"


def _key(ctx: RequestContext) -> bytes:
    return derive_key(ctx.settings.data_key, "survey-link")


def issue(
    session: AsyncSession, ctx: RequestContext, ticket: Ticket, at: datetime
) -> ev.SurveyLink:
    """A survey for the closed ``ticket`` (its assignee is the agent it scores)."""
    expires = at + timedelta(days=ctx.settings.survey_valid_days)
    survey = Survey(
        ticket_id=ticket.id, agent_id=ticket.assignee_id, sent_at=at, expires_at=expires
    )
    session.add(survey)
    token = jwt.encode(
        {"sub": str(survey.id), "aud": AUDIENCE, "exp": int(expires.timestamp())},
        _key(ctx),
        algorithm=ALGORITHM,
    )
    return ev.SurveyLink(
        id=str(survey.id), token=token, url=ctx.settings.survey_base_url + token, expires_at=expires
    )


def _survey_id(ctx: RequestContext, token: str) -> UUID:
    try:
        claims = jwt.decode(
            token,
            _key(ctx),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"verify_exp": False, "require": ["sub", "exp"]},
        )
        return UUID(claims["sub"])
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise NotFound("No such survey: the link is not valid.") from exc


@dataclass(frozen=True)
class SurveyView:
    survey: Survey
    ticket: Ticket


async def _open_survey(session: AsyncSession, ctx: RequestContext, token: str) -> SurveyView:
    found = await repo.get_with_ticket(session, _survey_id(ctx, token))
    if found is None:
        raise NotFound("No such survey: the link is not valid.")
    survey, ticket = found
    if survey.answered_at is not None:
        raise Conflict("This survey has already been answered; thank you.", slug="survey-answered")
    if ctx.clock.now() >= survey.expires_at:
        raise Gone(
            f"This survey link expired on {survey.expires_at.isoformat()}.", slug="survey-expired"
        )
    return SurveyView(survey, ticket)


async def show_survey(session: AsyncSession, ctx: RequestContext, token: str) -> SurveyView:
    """What the customer sees before answering: the ticket's summary."""
    return await _open_survey(session, ctx, token)


async def answer_survey(
    session: AsyncSession, ctx: RequestContext, command: AnswerSurvey
) -> SurveyView:
    """Record the score (1 to 5) and comment on the survey and the ticket, once.
    ``survey.answered``."""
    view = await _open_survey(session, ctx, command.token)
    now = ctx.clock.now()
    if not await repo.claim_answer(session, view.survey.id, now, command.score, command.comment):
        raise Conflict("This survey has already been answered; thank you.", slug="survey-answered")
    await repo.record_on_ticket(session, view.ticket.id, now, command.score, command.comment)
    session.add(
        TicketLogEntry(
            ticket_id=view.ticket.id,
            at=now,
            actor_id="customer",
            action="survey_answered",
            note=command.comment,
            details={"score": command.score},
        )
    )
    payload = ev.SurveyAnswered(
        survey_id=str(view.survey.id),
        ticket_id=str(view.ticket.id),
        code=view.ticket.code,
        customer_id=str(view.ticket.customer_id),
        agent_id=view.survey.agent_id,
        score=command.score,
        comment=command.comment,
        answered_at=now,
    )
    add_event(
        session,
        ev.build_event(ev.SURVEY_ANSWERED, payload, subject=str(view.ticket.id), actor="customer"),
    )
    return view
