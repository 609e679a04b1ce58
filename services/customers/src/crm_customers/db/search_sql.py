"""SQL that keeps customer search fast at a million rows on PostgreSQL (bench/customers_search.py).

Two problems, two tools:

- A name substring of two characters (the usual Chinese trade name: 星辰, 华信) yields no
  trigram, so the trigram index cannot serve it and PostgreSQL scanned every row. Migration
  ``91624e7b90fa`` adds ``customer_name_bigrams(name)`` (the lower-cased 2-character
  substrings) with a GIN index on it; such a term is looked up there.
- Counting every match of a broad term (科技: one customer in ten) means visiting every
  matching row, ~5 µs each; no index answers a count on its own. So list totals are counted
  exactly up to a limit and above it come from the planner's estimate (see ``page_customers``
  in ``repository``).
"""

import json
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.models import Customer
from crm_customers.db.search_spec import escape_like

BIGRAM_TERM_LENGTH = 2


def name_contains(term: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match on the customer name, the fastest way each database
    offers. On PostgreSQL a 2-character term goes through the bigram index and is confirmed
    with ``strpos`` (exactly ILIKE's semantics: both sides lower-cased, no wildcards). Not
    ILIKE itself: the planner would multiply its estimate by the bigram one although both say
    the same thing, underestimate broad terms by 50x and choose slow plans. Longer terms use
    the trigram index through ILIKE."""
    if dialect == "postgresql" and len(term) == BIGRAM_TERM_LENGTH:
        bigrams = func.customer_name_bigrams
        return and_(
            bigrams(Customer.name).op("@>", is_comparison=True)(bigrams(term)),
            func.strpos(func.lower(Customer.name), func.lower(term)) != 0,
        )
    return col(Customer.name).ilike(f"%{escape_like(term)}%", escape="\\")


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <statement>`` with the statement's own bound parameters."""

    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


async def estimated_rows(session: AsyncSession, statement: Any) -> int:
    """The planner's estimate of the rows ``statement`` returns (PostgreSQL; nothing runs)."""
    plan = (await session.execute(Explain(statement))).scalar_one()
    if isinstance(plan, str):  # asyncpg hands json over undecoded
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
