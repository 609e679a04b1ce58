"""Routes of the notification templates under /v1/notification-templates: every kind in every
locale, one, an admin's change (validated when saved), back to the built-in, and a preview."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from crm_notifier.api.dependencies import Context
from crm_notifier.api.template_schemas import (
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateListOut,
    TemplateOut,
)
from crm_notifier.domain import templates
from crm_notifier.domain.templates import ResetTemplate, TemplateView
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/notification-templates", tags=["notification templates"])

KindPath = Annotated[str, Path(max_length=32, description="e.g. survey")]
LocalePath = Annotated[str, Path(max_length=10, description="zh-CN or en")]


def _answer(view: TemplateView) -> Response:
    return Response(
        TemplateOut.of(view).model_dump_json(),
        media_type="application/json",
        headers={"etag": f'"{view.version}"'},
    )


def _version_if_sent(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is None and not if_match:
        return None
    return expected_version(body_version, if_match)


@router.get("", response_model=TemplateListOut)
async def list_templates(session: SessionDep, ctx: Context) -> TemplateListOut:
    """Every kind in every locale: the template that applies (an admin's or the built-in),
    and the facts it may use."""
    views = await templates.list_templates(session, ctx)
    return TemplateListOut(items=[TemplateOut.of(view) for view in views])


@router.get("/{kind}/{locale}", response_model=TemplateOut)
async def read_template(
    kind: KindPath, locale: LocalePath, session: SessionDep, ctx: Context
) -> Response:
    return _answer(await templates.get_template(session, ctx, kind, locale))


@router.put("/{kind}/{locale}", response_model=TemplateOut)
async def save_template(
    kind: KindPath,
    locale: LocalePath,
    body: TemplateIn,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    """Admin. Replaces the template that applies; a customised one needs the version read
    (body ``version`` or If-Match). A template that does not parse, uses a name its kind does
    not offer, or does not render the sample facts is refused (422, naming the field and, for
    a syntax error, the line)."""
    command = body.command(kind, locale, _version_if_sent(body.version, if_match))
    return _answer(await templates.save_template(session, ctx, command))


@router.delete("/{kind}/{locale}", response_model=TemplateOut)
async def reset_template(
    kind: KindPath, locale: LocalePath, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> Response:
    """Admin. Back to the built-in template (If-Match checked when sent); answers it."""
    command = ResetTemplate(kind, locale, _version_if_sent(None, if_match))
    return _answer(await templates.reset_template(session, ctx, command))


@router.post("/{kind}/{locale}/preview", response_model=PreviewOut)
async def preview_template(
    kind: KindPath,
    locale: LocalePath,
    session: SessionDep,
    ctx: Context,
    body: PreviewIn | None = None,
) -> PreviewOut:
    """What a notification would say with the sample facts (overridden by ``facts``): the
    unsaved ``subject``/``body`` sent, else the template that applies. Nothing is saved."""
    command = (body or PreviewIn()).command(kind, locale)
    rendered = await templates.preview(session, ctx, command)
    return PreviewOut.of(kind, locale, rendered)
