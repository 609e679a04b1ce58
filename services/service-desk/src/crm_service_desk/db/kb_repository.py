"""SQL of the knowledge base: loading, searching, counting uses, the top list and ticket
suggestions. The domain decides what to ask; this module asks it the fastest way each
database offers.

PostgreSQL (``pg_trgm``): a term of three characters or more is ``ILIKE '%term%'`` on the
question or the answer, answered from their GIN trigram indexes (a Chinese phrase from the
middle of an answer included: trigrams need no word boundaries). A shorter term has no
trigram, and a trigram index asked for a pattern without one reads the whole index; such a
term is matched with ``strpos`` (the same result, never planned on the index), i.e. a scan:
correct, slower. Matches rank by how many terms the question holds, then by trigram
similarity of the query to the question, then by use count.

SQLite (the embedded default): ``LIKE`` (case-insensitive for ASCII) over every row; the
same ranking without similarity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, literal, or_, select, text, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db.kb_models import KbArticle, KbArticleUse

TRIGRAM_LENGTH = 3
PUBLISHED = "published"


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "postgresql"


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: ColumnElement[str], term: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; see the module's docstring for the two paths."""
    if dialect == "postgresql" and len(term) < TRIGRAM_LENGTH:
        return func.strpos(func.lower(column), func.lower(term)) > 0
    return column.ilike(f"%{escape_like(term)}%", escape="\\")


def _term_matches(term: str, dialect: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (
        _contains(col(KbArticle.question), term, dialect),
        _contains(col(KbArticle.answer), term, dialect),
    )


def _has_tag(tag: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":  # JSONB containment: the GIN index (jsonb_path_ops)
        return type_coerce(KbArticle.tags, JSONB).contains([tag])
    return text(
        "EXISTS (SELECT 1 FROM json_each(kb_article.tags) WHERE json_each.value = :kb_tag)"
    ).bindparams(kb_tag=tag)


async def get_article(
    session: AsyncSession, article_id: uuid.UUID, *, for_update: bool = False
) -> KbArticle | None:
    statement = select(KbArticle).where(KbArticle.id == article_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


@dataclass(frozen=True)
class KbFilter:
    """What a list asks for: every term in the question or the answer, a tag, a status
    (None: any status, for staff)."""

    terms: tuple[str, ...] = ()
    tag: str | None = None
    status: str | None = PUBLISHED


def _conditions(flt: KbFilter, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.status is not None:
        conditions.append(col(KbArticle.status) == flt.status)
    if flt.tag is not None:
        conditions.append(_has_tag(flt.tag, dialect))
    for term in flt.terms:
        conditions.append(or_(*_term_matches(term, dialect)))
    return conditions


async def page_articles(
    session: AsyncSession, flt: KbFilter, *, offset: int, limit: int
) -> tuple[list[KbArticle], int]:
    """A page of the matching articles and their total. With terms: question matches first
    (more terms in the question first), then similarity to the question (PostgreSQL), then
    the most used; without: the most recently changed first."""
    dialect = _dialect(session)
    conditions = _conditions(flt, dialect)
    total = (
        await session.execute(select(func.count()).select_from(KbArticle).where(*conditions))
    ).scalar_one()
    statement = select(KbArticle).where(*conditions)
    if flt.terms:
        in_question = sum(
            (case((_contains(col(KbArticle.question), t, dialect), 1), else_=0) for t in flt.terms),
            start=literal(0, Integer),
        )
        order: list[ColumnElement[object]] = [in_question.desc()]
        if dialect == "postgresql":
            order.append(func.similarity(" ".join(flt.terms), KbArticle.question).desc())
        statement = statement.order_by(*order, col(KbArticle.use_count).desc(), col(KbArticle.id))
    else:
        statement = statement.order_by(col(KbArticle.updated_at).desc(), col(KbArticle.id))
    found = (await session.execute(statement.offset(offset).limit(limit))).scalars().all()
    return list(found), int(total)


async def add_use(
    session: AsyncSession,
    article_id: uuid.UUID,
    *,
    ticket_id: uuid.UUID | None,
    used_by: str,
    used_at: datetime,
) -> bool:
    """Record a use and count it on the article; False (nothing changed) when this ticket's
    use of the article was recorded already. The article's version is left alone."""
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = (
        insert(KbArticleUse)
        .values(
            id=uuid.uuid4(),
            article_id=article_id,
            ticket_id=ticket_id,
            used_by=used_by,
            used_at=used_at,
        )
        .on_conflict_do_nothing(index_elements=["article_id", "ticket_id"])
        .returning(KbArticleUse.id)
    )
    if (await session.execute(statement)).first() is None:
        return False
    await session.execute(
        update(KbArticle)
        .where(col(KbArticle.id) == article_id)
        .values(use_count=KbArticle.use_count + 1)
        .execution_options(synchronize_session=False)
    )
    return True


async def use_count_of(session: AsyncSession, article_id: uuid.UUID) -> int:
    statement = select(KbArticle.use_count).where(col(KbArticle.id) == article_id)
    return int((await session.execute(statement)).scalar_one())


async def top_articles(
    session: AsyncSession, *, since: datetime | None, limit: int
) -> list[tuple[KbArticle, int]]:
    """The most used published articles with their uses: all time from the counter (its
    index), or since a moment from the uses recorded after it."""
    if since is None:
        statement = (
            select(KbArticle, KbArticle.use_count)
            .where(col(KbArticle.status) == PUBLISHED, col(KbArticle.use_count) > 0)
            .order_by(col(KbArticle.use_count).desc(), col(KbArticle.id))
            .limit(limit)
        )
    else:
        uses = (
            select(KbArticleUse.article_id, func.count().label("uses"))
            .where(col(KbArticleUse.used_at) >= since)
            .group_by(KbArticleUse.article_id)
            .subquery()
        )
        statement = (
            select(KbArticle, uses.c.uses)
            .join(uses, uses.c.article_id == KbArticle.id)
            .where(col(KbArticle.status) == PUBLISHED)
            .order_by(uses.c.uses.desc(), col(KbArticle.use_count).desc(), col(KbArticle.id))
            .limit(limit)
        )
    rows = (await session.execute(statement)).all()
    return [(row[0], int(row[1])) for row in rows]


async def suggest(
    session: AsyncSession, terms: Sequence[str], probe: str, *, limit: int
) -> list[KbArticle]:
    """Published articles holding any of ``terms`` in question or answer, best first.

    On PostgreSQL the candidates come from the trigram indexes (terms of three characters or
    more; shorter ones only when there is nothing else, by a scan) and rank by the trigram
    word similarity of ``probe`` (the informative part of the ticket's text) to the question,
    counted twice, and to the answer; then by use count. On SQLite: by the number of terms in
    the question (twice) and in the answer."""
    if not terms:
        return []
    dialect = _dialect(session)
    indexable = [t for t in terms if len(t) >= TRIGRAM_LENGTH] if dialect == "postgresql" else []
    chosen = indexable or list(terms)
    matches = [_term_matches(t, dialect) for t in chosen]
    statement = select(KbArticle).where(
        col(KbArticle.status) == PUBLISHED, or_(*(or_(q, a) for q, a in matches))
    )
    if dialect == "postgresql":
        score = 2 * func.word_similarity(probe, KbArticle.question) + func.word_similarity(
            probe, KbArticle.answer
        )
    else:
        score = sum(
            (case((q, 2), else_=0) + case((a, 1), else_=0) for q, a in matches),
            start=literal(0, Integer),
        )
    statement = statement.order_by(
        score.desc(), col(KbArticle.use_count).desc(), col(KbArticle.id)
    ).limit(limit)
    return list((await session.execute(statement)).scalars().all())
