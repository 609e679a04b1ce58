"""The rules' values: the environment's defaults, overlaid with what an admin set through
``PATCH /v1/engagement/settings`` (one versioned row)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_models import EngagementSettingsRow
from crm_engagement.domain.access import ensure_settings_admin
from crm_engagement.domain.commands import UpdateSettings
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.rules import (
    GRADES,
    Rules,
    default_rules,
    parse_templates,
    valid_timezone,
)
from crm_engagement.settings import Settings
from crm_platform.errors import InvalidField, StaleVersion

RESCHEDULING_FIELDS = {"reminder_hour", "timezone"}


async def load_rules(session: AsyncSession, settings: Settings) -> Rules:
    base = default_rules(settings)
    row = await repo.get_settings_row(session)
    return base if row is None else overlay(base, row)


def overlay(base: Rules, row: EngagementSettingsRow) -> Rules:
    rules = replace(base, version=row.version)
    if row.reminder_hour is not None:
        rules = replace(rules, reminder_hour=row.reminder_hour)
    if row.timezone is not None:
        rules = replace(rules, timezone=row.timezone)
    if row.summary_min_length is not None:
        rules = replace(rules, summary_min_length=row.summary_min_length)
    if row.cadence_days is not None:
        rules = replace(rules, cadence_days={**base.cadence_days, **row.cadence_days})
    if row.plan_templates is not None:
        templates = {**base.raw_templates, **row.plan_templates}
        rules = replace(rules, plan_templates=parse_templates(templates), raw_templates=templates)
    return rules


@dataclass(frozen=True)
class SettingsView:
    rules: Rules
    updated_by: str | None
    updated_at: Any


async def get_settings(session: AsyncSession, ctx: RequestContext) -> SettingsView:
    row = await repo.get_settings_row(session)
    rules = (
        default_rules(ctx.settings) if row is None else overlay(default_rules(ctx.settings), row)
    )
    return SettingsView(rules, row.updated_by if row else None, row.updated_at if row else None)


def _check(changes: dict[str, Any]) -> None:
    if "timezone" in changes and not valid_timezone(changes["timezone"]):
        raise InvalidField("timezone", "not a known IANA time zone, e.g. Asia/Shanghai")
    if "cadence_days" in changes:
        unknown = set(changes["cadence_days"]) - set(GRADES)
        if unknown:
            raise InvalidField("cadence_days", f"grades are A, B and C, not {sorted(unknown)}")
    if "plan_templates" in changes:
        try:
            parse_templates(changes["plan_templates"])
        except ValueError as error:
            raise InvalidField("plan_templates", str(error)) from error


async def update_settings(
    session: AsyncSession, ctx: RequestContext, command: UpdateSettings
) -> SettingsView:
    """Admin only. The version is 0 until the first change. A new reminder hour or time zone
    moves every pending reminder that is about a day to that day's new hour."""
    ensure_settings_admin(ctx.identity)
    changes = dict(command.changes)
    _check(changes)
    row = await repo.get_settings_row(session, lock=True)
    current = row.version if row is not None else 0
    if command.expected_version != current:
        raise StaleVersion(
            f"The settings are at version {current}, not {command.expected_version}.",
            current_version=current,
        )
    if row is None:
        row = EngagementSettingsRow(id=1, version=0)
    for name, value in changes.items():
        if name in ("cadence_days", "plan_templates") and value is not None:
            value = {**(getattr(row, name) or {}), **value}
        setattr(row, name, value)
    row.version = current + 1
    row.updated_by = ctx.actor
    row.updated_at = ctx.clock.now()
    session.add(row)
    await session.flush()
    rules = overlay(default_rules(ctx.settings), row)
    if RESCHEDULING_FIELDS & set(changes):
        for reminder in await repo.pending_reminders_with_day(session):
            assert reminder.due_on is not None
            reminder.due_at = rules.due_at(reminder.due_on)
            session.add(reminder)
    return SettingsView(rules, row.updated_by, row.updated_at)
