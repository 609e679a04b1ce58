"""Routes on service teams, agents and callbacks (``/v1/service-desk/...``)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_platform.http.dependencies import SessionDep
from crm_service_desk.api.dependencies import Context
from crm_service_desk.db.ticket_models import Agent, Callback, ServiceTeam
from crm_service_desk.domain import callbacks, teams
from crm_service_desk.domain.assignment import Strategy
from crm_service_desk.domain.commands import CompleteCallback, SaveAgent, SaveTeam
from crm_service_desk.domain.enums import LABELS, TicketType

router = APIRouter(prefix="/v1/service-desk", tags=["service desk"])

Key = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$", description="Team key")
]
UserPath = Annotated[str, Path(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
CalendarKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamIn(Strict):
    name: Name
    calendar_key: CalendarKey = "default"
    supervisor_id: UserId | None = Field(
        default=None, description="Receives the team's high-priority tickets"
    )
    strategy: Strategy = Field(
        default=Strategy.MANUAL,
        description="How tickets other than high priority are handed out",
    )
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="None: create")


class TeamOut(BaseModel):
    key: str
    name: str
    calendar_key: str
    supervisor_id: str | None
    strategy: Strategy
    updated_at: datetime
    updated_by: str
    version: int

    @classmethod
    def of(cls, team: ServiceTeam) -> "TeamOut":
        return cls.model_validate(team.model_dump())


class AgentIn(Strict):
    team_key: CalendarKey = "default"
    display_name: Name
    ticket_types: list[TicketType] = Field(min_length=1, max_length=len(TicketType))
    active: bool = True


class AgentOut(BaseModel):
    user_id: str
    team_key: str
    display_name: str
    ticket_types: list[str]
    active: bool
    open_tickets: int
    last_assigned_at: datetime | None

    @classmethod
    def of(cls, agent: Agent, open_tickets: int) -> "AgentOut":
        return cls(**agent.model_dump(exclude={"updated_at"}), open_tickets=open_tickets)


class CallbackOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    assignee_id: str
    due_at: datetime
    reminded_at: datetime | None
    done_at: datetime | None
    outcome: str | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, callback: Callback) -> "CallbackOut":
        return cls.model_validate(callback.model_dump())


class CallbackDoneIn(Strict):
    outcome: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=4000)]


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(session: SessionDep, ctx: Context) -> list[TeamOut]:
    return [TeamOut.of(team) for team in await teams.list_teams(session, ctx)]


@router.put("/teams/{key}", response_model=TeamOut)
async def save_team(key: Key, body: TeamIn, session: SessionDep, ctx: Context) -> TeamOut:
    """Create the team (no ``version``) or change it (the version you read)."""
    command = SaveTeam(
        key=key,
        name=body.name,
        calendar_key=body.calendar_key,
        supervisor_id=body.supervisor_id,
        strategy=body.strategy.value,
        expected_version=body.version,
    )
    return TeamOut.of(await teams.save_team(session, ctx, command))


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(
    session: SessionDep,
    ctx: Context,
    team_key: Annotated[str | None, Query(max_length=40)] = None,
    ticket_type: Annotated[TicketType | None, Query(description="Agents handling it")] = None,
) -> list[AgentOut]:
    """Agents with their open tickets: whom a supervisor assigns a ticket of a type to."""
    found = await teams.list_agents(
        session, ctx, team_key=team_key, ticket_type=ticket_type.value if ticket_type else None
    )
    return [AgentOut.of(agent, count) for agent, count in found]


@router.put("/agents/{user_id}", response_model=AgentOut)
async def save_agent(
    user_id: UserPath, body: AgentIn, session: SessionDep, ctx: Context
) -> AgentOut:
    command = SaveAgent(
        user_id=user_id,
        team_key=body.team_key,
        display_name=body.display_name,
        ticket_types=tuple(body.ticket_types),
        active=body.active,
    )
    agent, open_tickets = await teams.save_agent(session, ctx, command)
    return AgentOut.of(agent, open_tickets)


@router.get("/callbacks", response_model=list[CallbackOut])
async def list_callbacks(
    session: SessionDep,
    ctx: Context,
    assignee_id: Annotated[
        str | None, Query(max_length=64, description="A user id, or 'me'")
    ] = None,
    ticket_id: uuid.UUID | None = None,
    pending_only: bool = True,
) -> list[CallbackOut]:
    found = await callbacks.list_callbacks(
        session,
        ctx,
        assignee_id=ctx.actor if assignee_id == "me" else assignee_id,
        ticket_id=ticket_id,
        pending_only=pending_only,
    )
    return [CallbackOut.of(c) for c in found]


@router.post("/callbacks/{callback_id}/done", response_model=CallbackOut)
async def complete_callback(
    callback_id: uuid.UUID, body: CallbackDoneIn, session: SessionDep, ctx: Context
) -> CallbackOut:
    command = CompleteCallback(callback_id=callback_id, outcome=body.outcome)
    return CallbackOut.of(await callbacks.complete_callback(session, ctx, command))


@router.get("/enums")
async def enums(ctx: Context) -> dict[str, list[dict[str, str]]]:
    """Codes of tickets (type, priority, status, mood, channel) with zh-CN and en labels."""
    labelled = {
        name: [{"code": code, "zh": zh, "en": en} for code, (zh, en) in labels.items()]
        for name, labels in LABELS.items()
    }
    return labelled
