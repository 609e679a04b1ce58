"""SQL of the customers service; the domain calls these, routers never do."""

import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import serials
from crm_customers.db.models import Contact, Customer, CustomerTag, Industry, Tag
from crm_customers.db.search_spec import CustomerFilter, SortKey, escape_like
from crm_customers.db.search_sql import estimated_rows, name_contains


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "postgresql"


async def get_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer | None:
    if not for_update:
        return await session.get(Customer, customer_id)
    query = select(Customer).where(Customer.id == customer_id).with_for_update()
    return (await session.exec(query)).first()


async def get_customer_by_code(session: AsyncSession, code: str) -> Customer | None:
    return (await session.exec(select(Customer).where(Customer.code == code))).first()


async def find_by_credit_code(session: AsyncSession, credit_code: str) -> Customer | None:
    query = select(Customer).where(Customer.credit_code == credit_code)
    return (await session.exec(query)).first()


async def find_by_id_number_index(session: AsyncSession, index: str) -> Customer | None:
    query = select(Customer).where(Customer.id_number_index == index)
    return (await session.exec(query)).first()


_CUSTOMER_TABLE = Customer.__table__  # type: ignore[attr-defined]
_INSERT_CUSTOMER = insert(_CUSTOMER_TABLE)
_CUSTOMER_COLUMNS = tuple(column.key for column in _CUSTOMER_TABLE.columns)


async def insert_customer(session: AsyncSession, customer: Customer) -> None:
    """Write a new customer with one Core INSERT; ``customer`` stays out of the session.

    Every create runs this: the unit of work (bookkeeping, flush planning) cost more than
    the statement itself, and a new customer has nothing for it to track.
    """
    row = {key: getattr(customer, key) for key in _CUSTOMER_COLUMNS}
    await session.execute(_INSERT_CUSTOMER, row)


def _numbered_insert() -> Any:
    """``INSERT … SELECT`` of one customer whose code is ``:code_head`` + the next number of
    the ``:sequence`` (at least three digits, as ``domain/codes.py`` formats it), written only
    if its industry is an active administered one, returning the code."""
    values = {
        column.key: bindparam(column.key, type_=column.type)
        for column in _CUSTOMER_TABLE.columns
        if column.key != "code"
    }
    sequence = cast(bindparam("sequence", type_=String), REGCLASS)
    serial = sa_select(func.nextval(sequence).label("n")).cte("serial")
    digits = cast(serial.c.n, Text)
    code = bindparam("code_head", type_=String) + func.lpad(
        digits, func.greatest(3, func.length(digits)), "0"
    )
    industry_active = exists().where(
        _INDUSTRY_TABLE.c.code == values["industry"], _INDUSTRY_TABLE.c.active
    )
    rows = sa_select(*values.values(), code.label("code")).select_from(serial)
    return (
        insert(_CUSTOMER_TABLE)
        .from_select([*values, "code"], rows.where(industry_active))
        .returning(_CUSTOMER_TABLE.c.code)
    )


async def insert_numbered_customer(
    session: AsyncSession,
    customer: Customer,
    *,
    scope: str,
    code_head: str,
    code_of: Callable[[int], str],
) -> bool:
    """Give ``customer`` the next code of ``scope`` and write it, if its industry is an
    active administered one (else write nothing and answer False).

    On PostgreSQL one statement does all three (number, check, insert): every create runs
    it, and each statement cost the customers process about 0.2 ms of CPU (SQLAlchemy and
    asyncpg) besides its round trip. ``code_of`` formats a serial (SQLite, and the test that
    holds the SQL to the same format).
    """
    if _dialect(session) != "postgresql":
        if not await industry_is_active(session, customer.industry):
            return False
        (serial,) = await serials.take_serials(session, scope)
        customer.code = code_of(serial)
        await insert_customer(session, customer)
        return True
    row = {key: getattr(customer, key) for key in _CUSTOMER_COLUMNS if key != "code"}
    parameters = {
        **row,
        "sequence": await serials.sequence_of(session, scope),
        "code_head": code_head,
    }
    code = (await session.execute(_NUMBERED_INSERT, parameters)).scalar()
    if code is None:
        return False
    customer.code = code
    return True


SIMILAR_NAME_CANDIDATES = 20


class CustomerRef(NamedTuple):
    """Enough of a customer to point at it (columns, not an ORM object: every create asks)."""

    id: uuid.UUID
    code: str
    name: str


def _similar_names_query(*, trigrams: bool) -> Select:  # type: ignore[type-arg]
    same_normalized = _CUSTOMER_TABLE.c.name_normalized == bindparam("normalized")
    # The % operator (unlike similarity() >= x) is answered by the core names' trigram index;
    # its threshold, CRM_DUPLICATE_NAME_SIMILARITY, is set on every connection at connect
    # (CustomersSettings.database_session_settings). SQLite has no trigrams: equal cores.
    core = _CUSTOMER_TABLE.c.name_core
    similar_core = core.op("%")(bindparam("core")) if trigrams else core == bindparam("core")
    return (
        sa_select(
            _CUSTOMER_TABLE.c.id,
            _CUSTOMER_TABLE.c.code,
            _CUSTOMER_TABLE.c.name,
            _CUSTOMER_TABLE.c.archived_at,
        )
        .where(or_(same_normalized, similar_core))
        .limit(SIMILAR_NAME_CANDIDATES)
    )


# Built once: every create runs them, and building a statement (and its cache key) per call
# cost more CPU than executing it. Written on the tables, not the ORM classes: rows come back
# as plain tuples, without the ORM's compile and loading steps (about 8% of a create's CPU).
_SIMILAR_NAMES_BY_TRIGRAMS = _similar_names_query(trigrams=True)
_SIMILAR_NAMES_BY_EQUAL_CORES = _similar_names_query(trigrams=False)
_INDUSTRY_TABLE = Industry.__table__  # type: ignore[attr-defined]
_INDUSTRY_ACTIVE = sa_select(_INDUSTRY_TABLE.c.active).where(
    _INDUSTRY_TABLE.c.code == bindparam("code")
)
_NUMBERED_INSERT = _numbered_insert()


async def find_similar_names(
    session: AsyncSession, normalized: str, core: str, exclude: uuid.UUID | None
) -> list[CustomerRef]:
    """Live customers whose name looks like one whose normalised form and core name
    (``domain/names.py``) are given: the same normalised name, or a similar core name.

    Every create runs this, so it must stay an index lookup whatever the table's statistics
    say. With ``archived_at IS NULL`` in the query the planner may walk the partial owner
    index (whose predicate matches) and test similarity on every live row; without it, the
    only paths are the name indexes. Archived and excluded rows are dropped here instead.
    """
    trigrams = _dialect(session) == "postgresql"
    query = _SIMILAR_NAMES_BY_TRIGRAMS if trigrams else _SIMILAR_NAMES_BY_EQUAL_CORES
    rows = (await session.execute(query, {"normalized": normalized, "core": core})).all()
    live = [
        CustomerRef(row.id, row.code, row.name)
        for row in rows
        if row.archived_at is None and row.id != exclude
    ]
    return live[:5]


async def find_customers_with_mobiles(
    session: AsyncSession, mobiles: Sequence[str], exclude: uuid.UUID | None
) -> list[tuple[Customer, str]]:
    query = (
        sa_select(Customer, Contact.mobile)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(
            col(Contact.mobile).in_(list(mobiles)),
            col(Contact.archived_at).is_(None),
            col(Customer.archived_at).is_(None),
        )
        .limit(5)
    )
    if exclude is not None:
        query = query.where(Customer.id != exclude)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


SOFT_DUPLICATE_CHUNK = 1000
"""Names or mobiles per statement when many rows are checked at once (an import)."""

# One round trip for a chunk of names: each name looks up its candidates exactly as
# ``find_similar_names`` does (normalised equality or the core's trigram ``%``, 20 rows).
_SIMILAR_NAMES_MANY = text(
    """
    SELECT v.ord, c.id, c.code, c.name, c.archived_at
    FROM unnest(CAST(:normalized AS text[]), CAST(:cores AS text[]))
         WITH ORDINALITY AS v(normalized, core, ord)
    CROSS JOIN LATERAL (
        SELECT id, code, name, archived_at FROM customer
        WHERE name_normalized = v.normalized OR name_core % v.core
        LIMIT 20
    ) AS c
    """
)


async def find_similar_names_many(
    session: AsyncSession, names: Sequence[tuple[str, str]]
) -> list[list[CustomerRef]]:
    """``find_similar_names`` for many (normalised name, core name) pairs at once, a chunk
    per statement: the live customers each one looks like (at most five), in the given
    order."""
    found: list[list[CustomerRef]] = [[] for _ in names]
    trigrams = _dialect(session) == "postgresql"
    for start in range(0, len(names), SOFT_DUPLICATE_CHUNK):
        chunk = names[start : start + SOFT_DUPLICATE_CHUNK]
        if trigrams:
            rows = await session.execute(
                _SIMILAR_NAMES_MANY,
                {"normalized": [n for n, _ in chunk], "cores": [c for _, c in chunk]},
            )
            hits = [(start + int(row.ord) - 1, row) for row in rows.all()]
        else:
            hits = await _equal_names_or_cores(session, chunk, start)
        for index, row in hits:
            refs = found[index]
            if row.archived_at is None and len(refs) < 5 and all(r.id != row.id for r in refs):
                refs.append(CustomerRef(row.id, row.code, row.name))
    return found


async def _equal_names_or_cores(
    session: AsyncSession, chunk: Sequence[tuple[str, str]], start: int
) -> list[tuple[int, Any]]:
    """SQLite's form of the check (no trigrams): equal normalised names or equal cores."""
    by_normalized: dict[str, list[int]] = {}
    by_core: dict[str, list[int]] = {}
    for offset, (normalized, core) in enumerate(chunk):
        by_normalized.setdefault(normalized, []).append(start + offset)
        by_core.setdefault(core, []).append(start + offset)
    table = _CUSTOMER_TABLE.c
    rows = await session.execute(
        sa_select(
            table.name_normalized,
            table.name_core,
            table.id,
            table.code,
            table.name,
            table.archived_at,
        ).where(
            or_(table.name_normalized.in_(list(by_normalized)), table.name_core.in_(list(by_core)))
        )
    )
    return [
        (i, row)
        for row in rows.all()
        for i in dict.fromkeys(
            by_normalized.get(row.name_normalized, []) + by_core.get(row.name_core, [])
        )
    ]


async def customers_with_mobiles(
    session: AsyncSession, mobiles: Sequence[str]
) -> dict[str, list[CustomerRef]]:
    """``find_customers_with_mobiles`` for many mobiles at once: mobile → the live customers
    with a live contact of that mobile."""
    found: dict[str, list[CustomerRef]] = {}
    wanted = list(dict.fromkeys(mobiles))
    for start in range(0, len(wanted), SOFT_DUPLICATE_CHUNK):
        rows = await session.execute(
            sa_select(Contact.mobile, Customer.id, Customer.code, Customer.name)
            .join(Contact, Contact.customer_id == Customer.id)
            .where(
                col(Contact.mobile).in_(wanted[start : start + SOFT_DUPLICATE_CHUNK]),
                col(Contact.archived_at).is_(None),
                col(Customer.archived_at).is_(None),
            )
        )
        for mobile, customer_id, code, name in rows.all():
            found.setdefault(mobile, []).append(CustomerRef(customer_id, code, name))
    return found


FUZZY_WORD_SIMILARITY = 0.4


async def _set_fuzzy_threshold(session: AsyncSession) -> None:
    """The threshold of the ``<%`` operator, for this transaction only."""
    await session.execute(
        text("SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true)"),
        {"threshold": str(FUZZY_WORD_SIMILARITY)},
    )


def _filtered(query: Select, flt: CustomerFilter, dialect: str) -> Select:  # type: ignore[type-arg]
    conditions = []
    if flt.visible_owner is not None:
        conditions.append(Customer.owner_id == flt.visible_owner)
    if flt.ids:
        conditions.append(col(Customer.id).in_(flt.ids))
    if flt.archived is False:
        conditions.append(col(Customer.archived_at).is_(None))
    elif flt.archived is True:
        conditions.append(col(Customer.archived_at).is_not(None))
    if flt.q:
        term = flt.q.strip()
        conditions.append(
            or_(
                col(Customer.code).like(escape_like(term.upper()) + "%", escape="\\"),
                name_contains(term, dialect),
            )
        )
    if flt.name:
        term = flt.name.strip()
        if flt.fuzzy and dialect == "postgresql":
            conditions.append(
                or_(
                    col(Customer.name).ilike(f"%{escape_like(term)}%", escape="\\"),
                    # word_similarity(term, name) >= threshold, answered by the trigram index
                    literal(term).op("<%", is_comparison=True)(Customer.name),
                )
            )
        elif flt.fuzzy:
            # SQLite has no trigrams: the characters of the term, in order, with gaps allowed.
            pattern = "%" + "%".join(escape_like(ch) for ch in term if not ch.isspace()) + "%"
            conditions.append(col(Customer.name).ilike(pattern, escape="\\"))
        else:
            conditions.append(name_contains(term, dialect))
    if flt.code:
        conditions.append(Customer.code == flt.code.strip().upper())
    if flt.industries:
        conditions.append(col(Customer.industry).in_(flt.industries))
    if flt.lifecycles:
        conditions.append(col(Customer.lifecycle).in_(flt.lifecycles))
    if flt.grades:
        conditions.append(col(Customer.grade).in_(flt.grades))
    if flt.activity_statuses:
        conditions.append(col(Customer.activity_status).in_(flt.activity_statuses))
    if flt.review_statuses:
        conditions.append(col(Customer.review_status).in_(flt.review_statuses))
    if flt.owner_id:
        conditions.append(Customer.owner_id == flt.owner_id)
    if flt.created_from:
        conditions.append(Customer.created_at >= flt.created_from)
    if flt.created_to:
        conditions.append(Customer.created_at < flt.created_to)
    if flt.not_reviewed_since:
        conditions.append(
            or_(
                col(Customer.last_reviewed_at).is_(None),
                col(Customer.last_reviewed_at) < flt.not_reviewed_since,
            )
        )
    if flt.tags:
        tagged = (
            sa_select(CustomerTag.customer_id)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(col(Tag.name).in_(flt.tags))
        )
        conditions.append(col(Customer.id).in_(tagged))
    return query.where(and_(*conditions)) if conditions else query


def count_statement(flt: CustomerFilter, dialect: str) -> Select:  # type: ignore[type-arg]
    """``SELECT count(*)`` of the customers ``flt`` matches (what a list's total counts)."""
    return _filtered(sa_select(func.count()).select_from(Customer), flt, dialect)


_ORDER = {
    SortKey.CREATED_DESC: (col(Customer.created_at).desc(), col(Customer.id).desc()),
    SortKey.CREATED_ASC: (col(Customer.created_at).asc(), col(Customer.id).asc()),
    SortKey.UPDATED_DESC: (col(Customer.updated_at).desc(), col(Customer.id).desc()),
    SortKey.UPDATED_ASC: (col(Customer.updated_at).asc(), col(Customer.id).asc()),
    SortKey.CODE_ASC: (col(Customer.code).asc(),),
    SortKey.CODE_DESC: (col(Customer.code).desc(),),
}


# Chinese names sort by pinyin on PostgreSQL (ICU collation); SQLite sorts by code point.
_PINYIN = "zh-x-icu"


def _order(sort: SortKey, dialect: str) -> tuple:  # type: ignore[type-arg]
    if sort in (SortKey.NAME_ASC, SortKey.NAME_DESC):
        name = col(Customer.name)
        if dialect == "postgresql":
            name = name.collate(_PINYIN)
        if sort == SortKey.NAME_ASC:
            return (name.asc(), col(Customer.id).asc())
        return (name.desc(), col(Customer.id).desc())
    return _ORDER[sort]


async def search_customers(
    session: AsyncSession, flt: CustomerFilter, *, sort: SortKey, offset: int, limit: int
) -> tuple[list[Customer], int]:
    """One page and the exact number of matches."""
    customers, total, _ = await page_customers(
        session, flt, sort=sort, offset=offset, limit=limit, exact_total_up_to=None
    )
    return customers, total


async def page_customers(
    session: AsyncSession,
    flt: CustomerFilter,
    *,
    sort: SortKey,
    offset: int,
    limit: int,
    exact_total_up_to: int | None,
) -> tuple[list[Customer], int, bool]:
    """One page, the number of matches and whether that number is exact.

    Counting visits every matching row (~5 µs each at a million customers), so on PostgreSQL
    with ``exact_total_up_to`` set, matches are counted only up to that many; beyond it the
    total is the planner's estimate (no rows read) and flagged as not exact. A short page
    needs no count at all: it is the last one.
    """
    dialect = _dialect(session)
    ordering = _order(sort, dialect)
    if flt.fuzzy and flt.name and dialect == "postgresql":  # best matches first
        await _set_fuzzy_threshold(session)
        ordering = (func.word_similarity(flt.name.strip(), Customer.name).desc(), *ordering)
    page_query = _filtered(sa_select(Customer), flt, dialect).order_by(*ordering)
    customers = list((await session.execute(page_query.offset(offset).limit(limit))).scalars())
    if len(customers) < limit and (customers or offset == 0):
        return customers, offset + len(customers), True
    if exact_total_up_to is None or dialect != "postgresql":
        counted = count_statement(flt, dialect)
        return customers, int((await session.execute(counted)).scalar_one()), True
    matches = _filtered(sa_select(Customer.id), flt, dialect)
    bounded = matches.limit(exact_total_up_to + 1).subquery()
    counted = (await session.execute(sa_select(func.count()).select_from(bounded))).scalar_one()
    if counted <= exact_total_up_to:
        return customers, int(counted), True
    estimate = await estimated_rows(session, matches)
    return customers, max(estimate, exact_total_up_to + 1, offset + len(customers)), False


async def iterate_customers(
    session: AsyncSession, flt: CustomerFilter, *, sort: SortKey, batch: int = 1000
):  # type: ignore[no-untyped-def]
    """Stream a whole filtered list (export) without loading it at once."""
    dialect = _dialect(session)
    query = _filtered(sa_select(Customer), flt, dialect).order_by(*_order(sort, dialect))
    if flt.fuzzy and flt.name and dialect == "postgresql":
        await _set_fuzzy_threshold(session)
    result = await session.stream(query.execution_options(yield_per=batch))
    async for customer in result.scalars():
        yield customer


async def tags_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    if not customer_ids:
        return {}
    rows = await session.execute(
        sa_select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(col(CustomerTag.customer_id).in_(list(customer_ids)))
        .order_by(Tag.name)
    )
    found: dict[uuid.UUID, list[str]] = {cid: [] for cid in customer_ids}
    for customer_id, name in rows.all():
        found[customer_id].append(name)
    return found


async def tags_by_name(session: AsyncSession, names: Sequence[str]) -> dict[str, Tag]:
    if not names:
        return {}
    rows = await session.exec(select(Tag).where(col(Tag.name).in_(list(names))))
    return {tag.name: tag for tag in rows.all()}


async def set_customer_tags(
    session: AsyncSession, customer_id: uuid.UUID, tags: Sequence[Tag]
) -> None:
    existing = await session.exec(select(CustomerTag).where(CustomerTag.customer_id == customer_id))
    for link in existing.all():
        await session.delete(link)
    await session.flush()
    for tag in tags:
        session.add(CustomerTag(customer_id=customer_id, tag_id=tag.id))


async def get_industry(session: AsyncSession, code: str) -> Industry | None:
    return await session.get(Industry, code)


async def industry_is_active(session: AsyncSession, code: str) -> bool:
    """One column, not an ORM object: every create asks."""
    return bool((await session.execute(_INDUSTRY_ACTIVE, {"code": code})).scalar())


async def list_industries(session: AsyncSession, *, include_inactive: bool) -> list[Industry]:
    query = select(Industry).order_by(col(Industry.sort_order), col(Industry.code))
    if not include_inactive:
        query = query.where(col(Industry.active).is_(True))
    return list((await session.exec(query)).all())


async def list_tags(session: AsyncSession, *, include_inactive: bool) -> list[Tag]:
    query = select(Tag).order_by(col(Tag.name))
    if not include_inactive:
        query = query.where(col(Tag.active).is_(True))
    return list((await session.exec(query)).all())


async def contacts_of(
    session: AsyncSession, customer_id: uuid.UUID, *, include_archived: bool = False
) -> list[Contact]:
    query = select(Contact).where(Contact.customer_id == customer_id)
    if not include_archived:
        query = query.where(col(Contact.archived_at).is_(None))
    query = query.order_by(col(Contact.is_primary).desc(), col(Contact.created_at))
    return list((await session.exec(query)).all())


async def get_contact(session: AsyncSession, contact_id: uuid.UUID) -> Contact | None:
    return await session.get(Contact, contact_id)
