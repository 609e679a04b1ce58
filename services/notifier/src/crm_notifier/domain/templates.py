"""Notification templates: a Jinja2 ``subject`` and ``body`` per kind and locale (zh-CN, the
default, and en), built in for every kind and editable by admins; a broken template is refused
when it is saved, not discovered when a notification is sent.

Templates run in Jinja2's immutable sandbox (no attribute starting with ``_``, no mutating
method, no ``str.format`` tricks; ``*`` and ``**`` bounded) with ``StrictUndefined`` and no
autoescaping (the messages are plain text). A template may use its kind's facts
(``KINDS[kind].facts``), ``recipient_name`` and ``link``, and the ``datetime`` filter.

``render`` is what the dispatcher calls: the admin's template for (kind, locale) if there is
one, else the built-in. At send time a missing fact never raises: the template is rendered
again with missing names as empty text, and that is logged; a saved template that fails on the
real facts some other way falls back to the built-in one (logged too).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    meta,
    pass_context,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db import template_repository as repo
from crm_notifier.db.template_models import NotificationTemplate
from crm_notifier.domain.builtin_templates import BUILT_IN, SAMPLE_OVERRIDES, SAMPLE_VALUES
from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.kinds import KINDS, LOCALES, Kind
from crm_platform.errors import (
    Forbidden,
    InvalidField,
    NotFound,
    PreconditionRequired,
    StaleVersion,
)
from crm_platform.identity import SYSTEM_ROLE, Identity

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "zh-CN"
DEFAULT_ZONE = "Asia/Shanghai"
MOMENT_FORMAT = "%Y-%m-%d %H:%M"
COMMON_FACTS = ("recipient_name", "link")
"""Names every template may use besides its kind's facts (empty when the sender has none)."""
FIELDS = ("subject", "body")
MAX_SUBJECT_CHARS = 300  # the notification's subject column
MAX_BODY_CHARS = 10_000
# The render context's default zone for the ``datetime`` filter (not a name templates may use).
_ZONE_VARIABLE = "_zone"
# Sandbox bounds: ``"x" * 10**9`` or ``2 ** 10**9`` would take the process's memory or CPU.
MAX_REPEAT = 10_000
MAX_EXPONENT = 100

ADMIN = "admin"
READERS = frozenset({ADMIN, "sales_manager", "service_supervisor", SYSTEM_ROLE})
EDITORS = frozenset({ADMIN, SYSTEM_ROLE})


# --------------------------------------------------------------------------- the sandbox


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_REPEAT
                ):
                    raise SecurityError(f"a repetition longer than {MAX_REPEAT} is not allowed")
        return super().call_binop(context, op, left, right)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@pass_context
def datetime_filter(
    context: Context, value: Any, zone: str | None = None, format: str = MOMENT_FORMAT
) -> str:
    """``{{ due_at | datetime }}`` → ``2026-06-01 09:00`` in the recipient's zone (Asia/Shanghai
    unless the sender says otherwise); ``datetime("UTC")``, ``datetime(format="%m-%d")``. An
    ISO text or a datetime (a naive one is UTC); anything else is shown as it is."""
    if isinstance(value, Undefined):
        return str(value)  # strict: raises, as any missing fact does; lenient: empty
    if value is None:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = _moment(value)
    if moment is None:
        return str(value)
    name = zone or context.get(_ZONE_VARIABLE) or DEFAULT_ZONE
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone") from None
    return moment.astimezone(tz).strftime(format)


def _environment(undefined: type[Undefined]) -> _Sandbox:
    env = _Sandbox(undefined=undefined, autoescape=False, keep_trailing_newline=False)
    env.filters["datetime"] = datetime_filter
    return env


_STRICT = _environment(StrictUndefined)
_LENIENT = _environment(ChainableUndefined)  # send time only: a missing fact renders empty


def allowed_names(kind: Kind) -> tuple[str, ...]:
    """The names a template of ``kind`` may use: its facts, ``recipient_name`` and ``link``."""
    return KINDS[kind].facts + COMMON_FACTS


def sample_facts(kind: Kind) -> dict[str, Any]:
    """A value for every name a template of ``kind`` may use."""
    samples = {name: SAMPLE_VALUES.get(name, f"<{name}>") for name in allowed_names(kind)}
    samples.update(SAMPLE_OVERRIDES.get(kind, {}))
    return samples


# --------------------------------------------------------------------------- compiling, checking


class InvalidTemplate(InvalidField):
    """A template that does not parse, uses a name its kind does not offer, or does not
    render; the error names the field and, for a syntax error, its line."""

    def __init__(self, field: str, message: str, *, line: int | None = None) -> None:
        super().__init__(field, message.rstrip("."))
        if line is not None:
            self.facts["errors"][0]["line"] = line


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise NotFound(
            f"There is no notification kind {value!r}.", kinds=[k.value for k in Kind]
        ) from None


def _locale(value: str) -> str:
    if value not in LOCALES:
        raise NotFound(f"There are no templates in {value!r}.", locales=list(LOCALES))
    return value


def _parse_checked(field: str, source: str, kind: Kind) -> None:
    try:
        tree = _STRICT.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(
            field, f"has a template error on line {exc.lineno}: {exc.message}", line=exc.lineno
        ) from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(allowed_names(kind)))
    if unknown:
        raise InvalidTemplate(
            field,
            f"uses {', '.join(unknown)}, which a {kind.value} notification does not offer "
            f"(it offers {', '.join(allowed_names(kind))})",
        )


def _render_checked(field: str, template: Template, facts: Mapping[str, Any]) -> str:
    try:
        return template.render(facts)
    except SecurityError as exc:
        raise InvalidTemplate(field, f"is refused by the sandbox: {exc}") from None
    except UndefinedError as exc:
        raise InvalidTemplate(field, f"does not render: {exc}") from None
    except Exception as exc:  # a filter's TypeError, a division by zero …
        raise InvalidTemplate(field, f"does not render: {type(exc).__name__}: {exc}") from None


def validate(subject: str, body: str, kind: Kind) -> None:
    """Refuse (``InvalidField``, 422, naming ``subject`` or ``body``) a template that does not
    parse, uses a name ``kind`` does not offer, or fails to render ``sample_facts(kind)``."""
    render_checked(subject, body, kind, sample_facts(kind))


def render_checked(
    subject: str, body: str, kind: Kind, facts: Mapping[str, Any], *, zone: str = DEFAULT_ZONE
) -> Rendered:
    """``subject`` and ``body`` (sources, not saved) rendered strictly with ``facts``: what
    ``validate`` and the preview do; refused as ``validate`` refuses."""
    facts = _context(facts, zone)
    for field, source in zip(FIELDS, (subject, body), strict=True):
        _parse_checked(field, source, kind)
    compiled = _build(subject, body)
    rendered = Rendered(
        subject=_one_line(_render_checked("subject", compiled.strict_subject, facts)),
        body=_render_checked("body", compiled.strict_body, facts).strip(),
    )
    if not rendered.subject:
        raise InvalidTemplate("subject", "renders empty")
    if len(rendered.subject) > MAX_SUBJECT_CHARS:
        raise InvalidTemplate("subject", f"renders longer than {MAX_SUBJECT_CHARS} characters")
    if not rendered.body:
        raise InvalidTemplate("body", "renders empty")
    if len(rendered.body) > MAX_BODY_CHARS:
        raise InvalidTemplate("body", f"renders longer than {MAX_BODY_CHARS} characters")
    return rendered


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass(frozen=True)
class _Compiled:
    strict_subject: Template
    strict_body: Template
    lenient_subject: Template
    lenient_body: Template


def _build(subject: str, body: str) -> _Compiled:
    return _Compiled(
        _STRICT.from_string(subject),
        _STRICT.from_string(body),
        _LENIENT.from_string(subject),
        _LENIENT.from_string(body),
    )


@lru_cache(maxsize=512)
def _compiled(kind: Kind, locale: str, version: int, subject: str, body: str) -> _Compiled:
    """The compiled pair of (kind, locale, version): built-ins are version 0. The sources are
    part of the key too, since a template reset to the built-in and saved again starts over
    at version 1."""
    return _build(subject, body)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- send time


def _context(facts: Mapping[str, Any], zone: str) -> dict[str, Any]:
    return {"recipient_name": "", "link": None, **facts, _ZONE_VARIABLE: zone}


def _missing(kind: Kind, facts: Mapping[str, Any]) -> list[str]:
    return [name for name in KINDS[kind].facts if name not in facts]


def _render_pair(
    compiled: _Compiled, context: Mapping[str, Any], kind: Kind, locale: str
) -> Rendered:
    try:
        subject = compiled.strict_subject.render(context)
        body = compiled.strict_body.render(context)
    except UndefinedError as exc:
        log.warning(
            "notification template %s/%s rendered with missing facts as empty (%s; missing: %s)",
            kind.value,
            locale,
            exc,
            ", ".join(_missing(kind, context)) or "-",
        )
        subject = compiled.lenient_subject.render(context)
        body = compiled.lenient_body.render(context)
    return Rendered(subject=_one_line(subject)[:MAX_SUBJECT_CHARS], body=body.strip())


def _zone_or_default(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("notification rendered in %s: %r is not a time zone", DEFAULT_ZONE, zone)
        return DEFAULT_ZONE
    return zone


def resolve_locale(locale: str | None) -> str:
    """One of ``LOCALES``: the exact one, else the one of its language (``en-US`` → ``en``,
    ``zh`` → ``zh-CN``), else zh-CN."""
    if locale in LOCALES:
        return locale
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return next((known for known in LOCALES if known.split("-")[0] == language), DEFAULT_LOCALE)


async def render(
    session: AsyncSession,
    kind: Kind,
    locale: str,
    facts: Mapping[str, Any],
    *,
    zone: str = DEFAULT_ZONE,
) -> Rendered:
    """The subject and body of a ``kind`` notification in ``locale`` (an unknown one: zh-CN)
    from ``facts`` (the kind's facts, ``recipient_name``, ``link``), with the admin's template
    if there is one. ``zone``: the default of the ``datetime`` filter (the recipient's zone).

    Never raises for the facts it is given: a missing one renders empty (logged); a saved
    template that fails on them otherwise gives way to the built-in one (logged)."""
    kind = Kind(kind)
    locale = resolve_locale(locale)
    context = _context(facts, _zone_or_default(zone))
    row = await _template_row(session, kind, locale)
    if row is not None:
        compiled = _compiled(kind, locale, row.version, row.subject, row.body)
        try:
            return _render_pair(compiled, context, kind, locale)
        except Exception:
            log.exception(
                "notification template %s/%s (version %s) failed; the built-in one is used",
                kind.value,
                locale,
                row.version,
            )
    subject, body = BUILT_IN[(kind, locale)]
    return _render_pair(_compiled(kind, locale, 0, subject, body), context, kind, locale)


_ROWS_KEY = "crm_notifier.templates.rows"


async def _template_row(
    session: AsyncSession, kind: Kind, locale: str
) -> NotificationTemplate | None:
    """The admin's template for (kind, locale), read once per session: the consumer renders
    a batch of events in one session and transaction (as of its first event, like the
    batch's commit). Saving or resetting a template through a session forgets what it
    read."""
    rows: dict[tuple[str, str], NotificationTemplate | None] = session.info.setdefault(
        _ROWS_KEY, {}
    )
    key = (kind.value, locale)
    if key not in rows:
        rows[key] = await repo.get_template(session, kind.value, locale)
    return rows[key]


# --------------------------------------------------------------------------- the admin's use cases


@dataclass(frozen=True)
class TemplateView:
    """A kind's template in one locale as it applies now: the admin's, or the built-in one
    (``customised`` false, version 0)."""

    kind: Kind
    locale: str
    customised: bool
    subject: str
    body: str
    version: int
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def facts(self) -> tuple[str, ...]:
        return allowed_names(self.kind)


@dataclass(frozen=True)
class SaveTemplate:
    kind: str
    locale: str
    subject: str
    body: str
    # The version read: required to change a customised template; 0 or None for a built-in.
    expected_version: int | None = None


@dataclass(frozen=True)
class ResetTemplate:
    kind: str
    locale: str
    expected_version: int | None = None  # checked when sent


@dataclass(frozen=True)
class PreviewTemplate:
    kind: str
    locale: str
    subject: str | None = None  # unsaved text to try; None: the template as it applies now
    body: str | None = None
    facts: Mapping[str, Any] | None = None  # over the samples


def _ensure(identity: Identity, roles: frozenset[str], doing: str) -> None:
    if not identity.roles & roles:
        raise Forbidden(f"Your role may not {doing}.")


def _view(kind: Kind, locale: str, row: NotificationTemplate | None) -> TemplateView:
    if row is None:
        subject, body = BUILT_IN[(kind, locale)]
        return TemplateView(kind, locale, False, subject, body, 0)
    return TemplateView(
        kind, locale, True, row.subject, row.body, row.version, row.updated_at, row.updated_by
    )


async def list_templates(session: AsyncSession, ctx: RequestContext) -> list[TemplateView]:
    """Every kind in every locale, as it applies now."""
    _ensure(ctx.identity, READERS, "read notification templates")
    saved = {(row.kind, row.locale): row for row in await repo.list_templates(session)}
    return [
        _view(kind, locale, saved.get((kind.value, locale))) for kind in Kind for locale in LOCALES
    ]


async def get_template(
    session: AsyncSession, ctx: RequestContext, kind: str, locale: str
) -> TemplateView:
    _ensure(ctx.identity, READERS, "read notification templates")
    known, locale = _kind(kind), _locale(locale)
    return _view(known, locale, await repo.get_template(session, known.value, locale))


def _check_version(row: NotificationTemplate | None, expected: int | None) -> None:
    current = row.version if row is not None else 0
    if expected is not None and expected != current:
        raise StaleVersion(
            "The template changed since you read it (you sent version "
            f"{expected}, it is now {current}); reload it and apply your change again.",
            current_version=current,
        )


async def save_template(
    session: AsyncSession, ctx: RequestContext, command: SaveTemplate
) -> TemplateView:
    """The admin's template for (kind, locale), validated (422 naming the field) before it
    replaces the one that applies."""
    _ensure(ctx.identity, EDITORS, "change notification templates")
    kind, locale = _kind(command.kind), _locale(command.locale)
    validate(command.subject, command.body, kind)
    session.info.pop(_ROWS_KEY, None)
    row = await repo.get_template(session, kind.value, locale, lock=True)
    if row is not None and command.expected_version is None:
        raise PreconditionRequired(
            "Send the version you read (body field 'version' or If-Match) so no change is lost.",
            slug="version-required",
        )
    _check_version(row, command.expected_version)
    if row is None:
        row = NotificationTemplate(kind=kind.value, locale=locale, subject="", body="")
    row.subject = command.subject
    row.body = command.body
    row.updated_at = ctx.clock.now()
    row.updated_by = ctx.actor
    session.add(row)
    await session.flush()
    return _view(kind, locale, row)


async def reset_template(
    session: AsyncSession, ctx: RequestContext, command: ResetTemplate
) -> TemplateView:
    """Back to the built-in template (already there: nothing to do)."""
    _ensure(ctx.identity, EDITORS, "change notification templates")
    kind, locale = _kind(command.kind), _locale(command.locale)
    session.info.pop(_ROWS_KEY, None)
    row = await repo.get_template(session, kind.value, locale, lock=True)
    _check_version(row, command.expected_version)
    if row is not None:
        await repo.delete_template(session, row)
    return _view(kind, locale, None)


async def preview(session: AsyncSession, ctx: RequestContext, command: PreviewTemplate) -> Rendered:
    """What a notification would say: the unsaved ``subject``/``body`` sent, else the
    template that applies, rendered with the sample facts (overridden by ``facts``)."""
    _ensure(ctx.identity, READERS, "preview notification templates")
    kind, locale = _kind(command.kind), _locale(command.locale)
    current = _view(kind, locale, await repo.get_template(session, kind.value, locale))
    facts = sample_facts(kind)
    for name, value in (command.facts or {}).items():
        if name not in facts:
            raise InvalidField(f"facts.{name}", f"is not a fact of a {kind.value} notification")
        facts[name] = value
    return render_checked(
        current.subject if command.subject is None else command.subject,
        current.body if command.body is None else command.body,
        kind,
        facts,
    )


def facts_table() -> str:
    """The kinds and the facts their templates may use, as the Markdown table
    ``docs/notifier.md`` holds (a test keeps the two the same)."""
    lines = ["| kind | 中文 | English | urgent | facts |", "|---|---|---|---|---|"]
    for kind, info in KINDS.items():
        facts = ", ".join(f"`{name}`" for name in info.facts)
        urgent = "yes" if info.urgent else "no"
        lines.append(f"| `{kind.value}` | {info.label_zh} | {info.label_en} | {urgent} | {facts} |")
    return "\n".join(lines) + "\n"
