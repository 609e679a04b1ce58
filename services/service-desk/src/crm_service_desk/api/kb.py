"""Routes of the knowledge base: validate, delegate to the domain, shape the answer."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.versions import IfMatch, expected_version
from crm_service_desk.api.dependencies import Context
from crm_service_desk.api.kb_schemas import (
    KbArticleCreate,
    KbArticleOut,
    KbArticlePage,
    KbArticlePatch,
    KbSuggestions,
    KbTop,
    KbTopItem,
    KbUseIn,
    KbUseOut,
)
from crm_service_desk.db.kb_models import KbArticle
from crm_service_desk.domain import kb
from crm_service_desk.domain.kb_commands import RecordKbUse, UpdateKbArticle

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"])


def _etag(article: KbArticle) -> dict[str, str]:
    return {"etag": f'"{article.version}"'}


def _answer(article: KbArticle) -> Response:
    return Response(
        KbArticleOut.of(article).model_dump_json(),
        media_type="application/json",
        headers=_etag(article),
    )


@router.post("/articles", status_code=status.HTTP_201_CREATED, response_model=KbArticleOut)
async def create_article(
    body: KbArticleCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: kb.create_article(session, ctx, body.command()),
        KbArticleOut.of,
        headers=_etag,
    )


@router.get("/articles", response_model=KbArticlePage)
async def list_articles(
    session: SessionDep,
    ctx: Context,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Words each found in the question or the answer (any language)",
        ),
    ] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=30)] = None,
    status: Annotated[
        kb.KbStatus | None, Query(description="Staff only; others see published articles")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> KbArticlePage:
    found = await kb.list_articles(
        session, ctx, q=q, tag=tag, status=status, page=page, page_size=page_size
    )
    return KbArticlePage(
        items=[KbArticleOut.of(a) for a in found.items],
        total=found.total,
        total_exact=found.total_exact,
        page=page,
        page_size=page_size,
    )


@router.get("/articles/{article_id}", response_model=KbArticleOut)
async def get_article(article_id: uuid.UUID, session: SessionDep, ctx: Context) -> Response:
    return _answer(await kb.get_article(session, ctx, article_id))


@router.patch("/articles/{article_id}", response_model=KbArticleOut)
async def update_article(
    article_id: uuid.UUID,
    body: KbArticlePatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = UpdateKbArticle(
        article_id=article_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(await kb.update_article(session, ctx, command))


@router.post(
    "/articles/{article_id}/uses",
    response_model=KbUseOut,
    responses={200: {"description": "This ticket's use was recorded before: not counted again"}},
    status_code=status.HTTP_201_CREATED,
)
async def record_use(
    article_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    body: KbUseIn | None = None,
) -> Response:
    command = RecordKbUse(article_id=article_id, ticket_id=body.ticket_id if body else None)
    recorded = await kb.record_use(session, ctx, command)
    return Response(
        KbUseOut.of(recorded).model_dump_json(),
        status_code=status.HTTP_201_CREATED if recorded.counted else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.get("/top", response_model=KbTop)
async def top_articles(
    session: SessionDep,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    days: Annotated[
        int | None, Query(ge=1, le=3660, description="The last N days; all time without it")
    ] = None,
) -> KbTop:
    found = await kb.top_articles(session, ctx, limit=limit, days=days)
    return KbTop(items=[KbTopItem.of(t) for t in found], days=days)


@router.get("/suggestions", response_model=KbSuggestions)
async def suggestions(
    session: SessionDep,
    ctx: Context,
    text: Annotated[
        str,
        Query(
            min_length=1,
            max_length=2000,
            description="The ticket's title and description as typed so far",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> KbSuggestions:
    found = await kb.suggestions_for(session, ctx, text, limit)
    return KbSuggestions(items=[KbArticleOut.of(a) for a in found])
