"""Use cases of the knowledge base (知识库): write articles, find them, count their uses, list
the most used, and suggest articles for a ticket while it is being written.

Service staff write; everybody with a role reads, and only staff see drafts and archived
articles (to anybody else they do not exist). Each use case runs in the transaction its
caller opened and stages its events in the outbox.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import Conflict, Forbidden, InvalidField, NotFound, StaleVersion
from crm_platform.events.outbox import add_event
from crm_service_desk.db import kb_repository as repository
from crm_service_desk.db import ticket_repository
from crm_service_desk.db.kb_models import KbArticle
from crm_service_desk.db.kb_repository import KbFilter, KbPage
from crm_service_desk.db.ticket_models import TicketLogEntry
from crm_service_desk.domain import access
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.kb_commands import CreateKbArticle, RecordKbUse, UpdateKbArticle
from crm_service_desk.events import published as ev


class KbStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


EDITABLE = frozenset({"question", "answer", "tags", "status"})
MAX_TAGS = 10
MAX_TAG_LENGTH = 30
MAX_SEARCH_TERMS = 5
MAX_TERM_LENGTH = 100
SUGGESTION_TERMS = 12
MAX_PROBE_LENGTH = 200


# --------------------------------------------------------------------------- pure rules


def normalise_tags(tags: tuple[str, ...] | list[str]) -> list[str]:
    """Tags as they are stored and filtered on: trimmed, inner spaces collapsed, case-folded
    (``VPN`` and ``vpn`` are one tag), duplicates dropped, first-seen order kept."""
    seen: dict[str, None] = {}
    for raw in tags:
        tag = " ".join(raw.split()).casefold()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidField("tags", f"a tag has at most {MAX_TAG_LENGTH} characters")
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise InvalidField("tags", f"at most {MAX_TAGS} tags")
    return list(seen)


def search_terms(q: str | None) -> tuple[str, ...]:
    """The words of a search, each of which an article must hold (question or answer)."""
    if q is None:
        return ()
    terms = tuple(dict.fromkeys(q.split()))
    if len(terms) > MAX_SEARCH_TERMS:
        raise InvalidField("q", f"at most {MAX_SEARCH_TERMS} words")
    if any(len(t) > MAX_TERM_LENGTH for t in terms):
        raise InvalidField("q", f"a word has at most {MAX_TERM_LENGTH} characters")
    return terms


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# What a ticket's Chinese says around its subject: greetings, pronouns, question words, time
# words. Removed before the run is cut into n-grams, so no n-gram straddles them.
_CJK_STOP_WORDS = _words(
    "您好 你好 请问 谢谢 麻烦 我们 你们 他们 它们 怎么 为什么 什么 如何 怎样 一下 现在 今天 "
    "昨天 已经 还是 但是 因为 所以 然后 可以 需要 出现 一直 总是 时候 这个 那个 一个 问题 情况 帮忙"
)
_CJK_STOP_CHARS = frozenset(
    "的了是在我你他她它有和与及或就也很都吗吧呢啊呀哦请这那个些又被把给让对从到为着过"
)
_EN_STOP_WORDS = frozenset(
    _words(
        "the and for are but not you your our with this that have has had was were been can "
        "cannot could would should will from they them their there what when where which who "
        "why how all any some out get got into just also please thanks thank hello dear again "
        "still does did doing done very too its after before then than now today yesterday "
        "about here help need needs issue problem"
    )
)


@dataclass(frozen=True)
class SuggestionProbe:
    """What a ticket's text is searched with: ``terms`` select candidates (each must appear
    in an article), ``probe`` ranks them by trigram word similarity."""

    terms: tuple[str, ...]
    probe: str


def _cjk_segments(run: str) -> list[str]:
    for word in _CJK_STOP_WORDS:
        run = run.replace(word, " ")
    cut = "".join(" " if ch in _CJK_STOP_CHARS else ch for ch in run)
    return [s for s in cut.split() if len(s) >= 2]


def suggestion_probe(text: str) -> SuggestionProbe:
    """The informative terms of a ticket description. English: words of three letters or
    more that are not stop words, codes with digits (``E05``, ``HP-1020``) first, longer words
    before shorter. Chinese has no spaces to find words by, so each run (stop words cut out)
    gives its character trigrams (what the trigram index finds), or itself when it has two
    characters. At most ``SUGGESTION_TERMS`` terms, in the order the text gives them within
    each kind."""
    scored: list[tuple[int, int, str]] = []  # (-weight, position, term)
    pieces: list[str] = []
    position = 0
    for token in _TOKEN.findall(text):
        if _CJK_RUN.fullmatch(token):
            for segment in _cjk_segments(token):
                pieces.append(segment)
                grams = (
                    [segment]
                    if len(segment) == 2
                    else [segment[i : i + 3] for i in range(len(segment) - 2)]
                )
                for gram in grams:
                    position += 1
                    scored.append((-(4 if len(gram) == 3 else 2), position, gram))
            continue
        word = token.lower()
        has_digit = any(ch.isdigit() for ch in word)
        if (len(word) < 3 and not (has_digit and len(word) == 2)) or word in _EN_STOP_WORDS:
            continue
        if word.isdigit() and len(word) < 3:  # "10 minutes"; "809" (an error code) stays
            continue
        pieces.append(word)
        position += 1
        scored.append((-(len(word) + (6 if has_digit else 0)), position, word))
    terms = tuple(dict.fromkeys(term for _, _, term in sorted(scored)))[:SUGGESTION_TERMS]
    probe = " ".join(dict.fromkeys(pieces))[:MAX_PROBE_LENGTH]
    return SuggestionProbe(terms=terms, probe=probe)


# --------------------------------------------------------------------------- use cases


@dataclass(frozen=True)
class TopArticle:
    article: KbArticle
    uses: int


@dataclass(frozen=True)
class UseRecorded:
    article_id: uuid.UUID
    ticket_id: uuid.UUID | None
    counted: bool  # False: this ticket's use was recorded before
    use_count: int


def _published_event(ctx: RequestContext, article: KbArticle) -> ev.KbArticlePublished:
    assert article.published_at is not None
    return ev.KbArticlePublished(
        id=str(article.id),
        question=article.question,
        tags=list(article.tags),
        published_by=ctx.actor,
        published_at=article.published_at,
        version=article.version,
    )


def _stage_published(session: AsyncSession, ctx: RequestContext, article: KbArticle) -> None:
    event = ev.build_event(
        ev.KB_ARTICLE_PUBLISHED,
        _published_event(ctx, article),
        subject=str(article.id),
        actor=ctx.actor,
    )
    add_event(session, event)


async def create_article(
    session: AsyncSession, ctx: RequestContext, command: CreateKbArticle
) -> KbArticle:
    """Write a new article (a draft unless said otherwise); ``kb.article_published`` when it
    is published at once."""
    access.ensure_kb_writer(ctx.identity)
    status = KbStatus(command.status)
    now = ctx.clock.now()
    article = KbArticle(
        question=command.question,
        answer=command.answer,
        tags=normalise_tags(command.tags),
        status=status.value,
        created_by=ctx.actor,
        created_at=now,
        updated_by=ctx.actor,
        updated_at=now,
        published_at=now if status is KbStatus.PUBLISHED else None,
    )
    session.add(article)
    await session.flush()
    if status is KbStatus.PUBLISHED:
        _stage_published(session, ctx, article)
    return article


def _visible(ctx: RequestContext, article: KbArticle | None, article_id: uuid.UUID) -> KbArticle:
    if article is None or (
        article.status != KbStatus.PUBLISHED and not access.is_service_staff(ctx.identity)
    ):
        raise NotFound(f"No knowledge-base article {article_id}.")
    return article


async def get_article(
    session: AsyncSession, ctx: RequestContext, article_id: uuid.UUID
) -> KbArticle:
    access.ensure_kb_reader(ctx.identity)
    return _visible(ctx, await repository.get_article(session, article_id), article_id)


async def list_articles(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    q: str | None = None,
    tag: str | None = None,
    status: KbStatus | None = None,
    page: int = 1,
    page_size: int = 20,
) -> KbPage:
    """Search and filter. Staff see every status unless they name one; others see published
    articles only, and asking for another status is refused."""
    access.ensure_kb_reader(ctx.identity)
    if not access.is_service_staff(ctx.identity):
        if status not in (None, KbStatus.PUBLISHED):
            raise Forbidden("Only service staff see draft and archived articles.")
        status = KbStatus.PUBLISHED
    tags = normalise_tags([tag]) if tag is not None else []
    flt = KbFilter(
        terms=search_terms(q),
        tag=tags[0] if tags else None,
        status=status.value if status is not None else None,
    )
    return await repository.page_articles(
        session, flt, offset=(page - 1) * page_size, limit=page_size
    )


async def update_article(
    session: AsyncSession, ctx: RequestContext, command: UpdateKbArticle
) -> KbArticle:
    """Edit the question, answer, tags or status against the version read;
    ``kb.article_published`` when the article becomes published."""
    access.ensure_kb_writer(ctx.identity)
    changes = dict(command.changes)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidField(sorted(unknown)[0], "cannot be changed here")
    article = await repository.get_article(session, command.article_id, for_update=True)
    if article is None:
        raise NotFound(f"No knowledge-base article {command.article_id}.")
    if article.version != command.expected_version:
        raise StaleVersion(
            f"The article changed since you read it (you sent version "
            f"{command.expected_version}, it is now {article.version}); reload it and apply "
            "your change again.",
            current_version=article.version,
        )
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    becomes_published = False
    if "status" in changes:
        status = KbStatus(changes["status"])
        changes["status"] = status.value
        becomes_published = (
            status is KbStatus.PUBLISHED and article.status != KbStatus.PUBLISHED.value
        )
    now = ctx.clock.now()
    for name, value in changes.items():
        setattr(article, name, value)
    if becomes_published:
        article.published_at = now
    article.updated_by = ctx.actor
    article.updated_at = now
    session.add(article)
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            "The article was changed by someone else while you saved version "
            f"{command.expected_version}; reload it and apply your change again."
        ) from exc
    if becomes_published:
        _stage_published(session, ctx, article)
    return article


async def record_use(
    session: AsyncSession, ctx: RequestContext, command: RecordKbUse
) -> UseRecorded:
    """Count a use of a published article, once per ticket (a use without a ticket always
    counts) and, on a ticket, as a line of its processing log. Service staff answer with
    articles, so they record uses (the gateway lets only them write to the knowledge base)."""
    access.ensure_service_staff(ctx.identity, "record uses of knowledge-base articles")
    article = await get_article(session, ctx, command.article_id)
    if article.status != KbStatus.PUBLISHED:
        raise Conflict(
            "Only a published article can be used; publish it first.",
            slug="kb-article-not-published",
        )
    if command.ticket_id is not None and not await ticket_repository.exists(
        session, command.ticket_id
    ):
        raise InvalidField("ticket_id", "is not a ticket")
    counted = await repository.add_use(
        session,
        article.id,
        ticket_id=command.ticket_id,
        used_by=ctx.actor,
        used_at=ctx.clock.now(),
    )
    if counted and command.ticket_id is not None:
        # The ticket's processing log says which answer was used.
        session.add(
            TicketLogEntry(
                ticket_id=command.ticket_id,
                at=ctx.clock.now(),
                actor_id=ctx.actor,
                action="kb_used",
                note=article.question,
                details={"article_id": str(article.id)},
            )
        )
    return UseRecorded(
        article_id=article.id,
        ticket_id=command.ticket_id,
        counted=counted,
        use_count=await repository.use_count_of(session, article.id),
    )


async def top_articles(
    session: AsyncSession, ctx: RequestContext, *, limit: int = 10, days: int | None = None
) -> list[TopArticle]:
    """The most used published articles, all time or over the last ``days`` days."""
    access.ensure_kb_reader(ctx.identity)
    since = None if days is None else ctx.clock.now() - timedelta(days=days)
    rows = await repository.top_articles(session, since=since, limit=limit)
    return [TopArticle(article, uses) for article, uses in rows]


async def suggest_articles(session: AsyncSession, text: str, limit: int = 5) -> list[KbArticle]:
    """Published articles relevant to a ticket's text as it is being written (its title and
    description): candidates hold one of its informative terms (``suggestion_probe``), and
    rank by trigram word similarity to those terms, the question counting twice, then by use.
    No caller check here: published articles are readable by every role that can see a
    ticket; callers check their own access (``GET /v1/kb/suggestions``, the ticket's route)."""
    probe = suggestion_probe(text)
    return await repository.suggest(session, probe.terms, probe.probe, limit=limit)


async def suggestions_for(
    session: AsyncSession, ctx: RequestContext, text: str, limit: int = 5
) -> list[KbArticle]:
    """``suggest_articles`` for a caller who may read the knowledge base."""
    access.ensure_kb_reader(ctx.identity)
    return await suggest_articles(session, text, limit)
