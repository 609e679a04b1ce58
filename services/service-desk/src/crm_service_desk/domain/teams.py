"""Service teams and their agents: which calendar a team's SLA clocks run on, who its
supervisor is (high-priority tickets go to them), how it hands out the other tickets, and
which ticket types each agent handles. Supervisors and admins change them; service staff
read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import InvalidField, NotFound, StaleVersion
from crm_service_desk.db import ticket_repository as repo
from crm_service_desk.db.ticket_models import Agent, ServiceTeam
from crm_service_desk.domain import access
from crm_service_desk.domain.commands import SaveAgent, SaveTeam
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.enums import TicketType
from crm_service_desk.domain.sla_settings import calendar_exists

DEFAULT_TEAM = "default"


async def list_teams(session: AsyncSession, ctx: RequestContext) -> list[ServiceTeam]:
    access.ensure_service_staff(ctx.identity, "see the service teams")
    return await repo.list_teams(session)


async def save_team(session: AsyncSession, ctx: RequestContext, command: SaveTeam) -> ServiceTeam:
    """Create a team (no version sent) or change one (the version read)."""
    access.ensure_supervisor(ctx.identity, "configure service teams")
    if not await calendar_exists(session, command.calendar_key):
        raise InvalidField("calendar_key", "is not a business-hours calendar")
    team = await repo.get_team(session, command.key, for_update=True)
    now = ctx.clock.now()
    if team is None:
        if command.expected_version is not None:
            raise NotFound(f"No service team {command.key}.")
        team = ServiceTeam(key=command.key, name=command.name, updated_at=now, updated_by=ctx.actor)
    elif command.expected_version is None or team.version != command.expected_version:
        current = team.version
        raise StaleVersion(
            f"Team {command.key} exists at version {current}; send that version to change it.",
            current_version=current,
        )
    team.name = command.name
    team.calendar_key = command.calendar_key
    team.supervisor_id = command.supervisor_id
    team.strategy = command.strategy
    team.updated_at = now
    team.updated_by = ctx.actor
    session.add(team)
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(f"Team {command.key} was changed meanwhile; reload it.") from exc
    return team


async def list_agents(
    session: AsyncSession, ctx: RequestContext, *, team_key: str | None, ticket_type: str | None
) -> list[tuple[Agent, int]]:
    access.ensure_service_staff(ctx.identity, "see the agents")
    return await repo.list_agents(session, team_key=team_key, ticket_type=ticket_type)


async def save_agent(
    session: AsyncSession, ctx: RequestContext, command: SaveAgent
) -> tuple[Agent, int]:
    """Register an agent, or change their team, types or whether they take tickets."""
    access.ensure_supervisor(ctx.identity, "configure agents")
    if await repo.get_team(session, command.team_key) is None:
        raise InvalidField("team_key", "is not a service team")
    now: datetime = ctx.clock.now()
    agent = await repo.get_agent(session, command.user_id)
    if agent is None:
        agent = Agent(
            user_id=command.user_id,
            team_key=command.team_key,
            display_name=command.display_name,
            updated_at=now,
        )
    agent.team_key = command.team_key
    agent.display_name = command.display_name
    agent.ticket_types = sorted(t.value for t in command.ticket_types)
    agent.active = command.active
    agent.updated_at = now
    session.add(agent)
    await session.flush()
    return agent, await repo.open_tickets_of(session, agent.user_id)


@dataclass(frozen=True)
class UserFacts:
    """What the service desk reads of a gateway user event."""

    user_id: str
    display_name: str
    roles: frozenset[str]
    active: bool


async def follow_user(session: AsyncSession, user: UserFacts, at: datetime) -> None:
    """Keep the agents in step with the users: a person given the service-agent role becomes
    an agent of the default team handling every type (a supervisor narrows it); a disabled
    user, or one who lost the role, takes no more tickets; names follow renames."""
    agent = await repo.get_agent(session, user.user_id)
    is_agent = user.active and access.SERVICE_AGENT in user.roles
    if agent is None:
        if not is_agent:
            return
        agent = Agent(
            user_id=user.user_id,
            team_key=DEFAULT_TEAM,
            display_name=user.display_name,
            ticket_types=sorted(t.value for t in TicketType),
            updated_at=at,
        )
    else:
        agent.display_name = user.display_name
        if not is_agent:
            agent.active = False  # re-enabled by a supervisor, not by the next rename
        agent.updated_at = at
    session.add(agent)
