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

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import conflict_insert, dialect_of
from crm_service_desk.db.kb_models import KbArticle, KbArticleUse

TRIGRAM_LENGTH = 3
EXACT_TOTAL_LIMIT = 1000
PUBLISHED = "published"


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


@dataclass(frozen=True)
class KbPage:
    items: list[KbArticle]
    total: int
    total_exact: bool  # False: more than EXACT_TOTAL_LIMIT match; total is the estimate


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <statement>`` with the statement's own bound parameters."""

    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


async def _total(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> tuple[int, bool]:
    """Matches counted up to ``EXACT_TOTAL_LIMIT`` (the scan stops there); beyond, the
    planner's estimate (nothing read). A broad term (重启: a third of the articles) would
    otherwise read and recheck tens of thousands of answers for a number nobody pages to."""
    matches = select(col(KbArticle.id)).where(*conditions)
    if dialect_of(session) != "postgresql":
        counted = select(func.count()).select_from(matches.subquery())
        return int((await session.execute(counted)).scalar_one()), True
    bounded = select(func.count()).select_from(matches.limit(EXACT_TOTAL_LIMIT + 1).subquery())
    counted = int((await session.execute(bounded)).scalar_one())
    if counted <= EXACT_TOTAL_LIMIT:
        return counted, True
    plan = (await session.execute(Explain(matches))).scalar_one()
    if isinstance(plan, str):  # asyncpg hands json over undecoded
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_TOTAL_LIMIT + 1), False


async def _plan_for_terms(session: AsyncSession, terms: Sequence[str]) -> None:
    """Planner settings for the rest of this search's transaction (PostgreSQL).

    Each statement is planned for its own terms: asyncpg prepares every statement and
    PostgreSQL switches a prepared statement to one generic plan after five runs; planned
    without the pattern, the same SQL suits no term (an error code with 61 matches was
    answered by walking every published article in use order: 240 ms instead of 2 ms).

    When every term has a trigram, no sequential scan: the planner prices ``ILIKE`` on a
    300-character answer like a comparison of two integers, so to count 1,001 matches of a
    term it expects in one article of ten it preferred reading the table in order (68 ms,
    27,000 answers compared) to the trigram index (4 ms). Measured with bench/kb_search.py."""
    if dialect_of(session) != "postgresql":
        return
    seqscan = "on" if any(len(t) < TRIGRAM_LENGTH for t in terms) or not terms else "off"
    await session.execute(
        text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
            " set_config('enable_seqscan', :seqscan, true)"
        ).bindparams(seqscan=seqscan)
    )


def _by_use(*, walk: bool = True) -> list[ColumnElement[Any]]:
    """Most used first. ``walk``: in the order of ``ix_kb_article_status_use_count`` read
    backwards, so a broad search stops after a page of matches instead of ranking them all;
    otherwise the same order written so that index cannot give it, for few matches (found
    through their own index and sorted), which a walk would look for through every row."""
    if walk:
        return [col(KbArticle.use_count).desc(), col(KbArticle.id).desc()]
    return [(col(KbArticle.use_count) + 0).desc(), col(KbArticle.id).desc()]


async def page_articles(session: AsyncSession, flt: KbFilter, *, offset: int, limit: int) -> KbPage:
    """A page of the matching articles and their total. With terms, two groups: articles
    whose question holds every term (by similarity of the query to the question, then use),
    then the others (by use). Two queries rather than one ranking: the first group is small
    (its index covers short questions) and usually fills the page; the second, for a broad
    term, is read in use order and stops at the page. Without terms: most used first."""
    dialect = dialect_of(session)
    conditions = _conditions(flt, dialect)
    await _plan_for_terms(session, flt.terms)
    total, exact = await _total(session, conditions)
    if not flt.terms:
        # A tag or status alone: walk in use order unless the matches are few.
        walk = not exact or flt.tag is None
        statement = select(KbArticle).where(*conditions).order_by(*_by_use(walk=walk))
        found = (await session.execute(statement.offset(offset).limit(limit))).scalars().all()
        return KbPage(list(found), total, exact)
    in_question = and_(*(_contains(col(KbArticle.question), t, dialect) for t in flt.terms))
    first = select(KbArticle).where(*conditions, in_question)
    first_order: list[ColumnElement[Any]] = []
    if dialect == "postgresql":
        first_order.append(func.similarity(" ".join(flt.terms), KbArticle.question).desc())
    first = first.order_by(*first_order, *_by_use())
    items = list((await session.execute(first.offset(offset).limit(limit))).scalars().all())
    if len(items) == limit:
        return KbPage(items, total, exact)
    if items or offset == 0:  # the first group ends on this page
        first_total = offset + len(items)
    else:  # a page past the first group: where the second one starts
        counted = select(func.count()).select_from(
            select(col(KbArticle.id)).where(*conditions, in_question).subquery()
        )
        first_total = int((await session.execute(counted)).scalar_one())
    # Walk in use order only when the second group is dense (over a thousand matches
    # besides the first group's); else find its matches by their index and sort them.
    walk = not exact and total - first_total > EXACT_TOTAL_LIMIT
    rest = (
        select(KbArticle)
        .where(*conditions, not_(in_question))
        .order_by(*_by_use(walk=walk))
        .offset(max(0, offset - first_total))
        .limit(limit - len(items))
    )
    items.extend((await session.execute(rest)).scalars().all())
    return KbPage(items, total, exact)


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
    statement = (
        conflict_insert(session, KbArticleUse)
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
            .order_by(*_by_use())
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
            .order_by(uses.c.uses.desc(), *_by_use())
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
    dialect = dialect_of(session)
    indexable = [t for t in terms if len(t) >= TRIGRAM_LENGTH] if dialect == "postgresql" else []
    chosen = indexable or list(terms)
    await _plan_for_terms(session, chosen)
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
    statement = statement.order_by(score.desc(), *_by_use()).limit(limit)
    return list((await session.execute(statement)).scalars().all())
