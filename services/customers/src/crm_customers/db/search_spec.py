"""What a customer list can be filtered and sorted by (SPEC §1 list/search): the question the
API and the domain ask, and which ``repository`` and ``search_sql`` turn into SQL. It lives
at the bottom layer because the SQL that answers it does."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SortKey(StrEnum):
    CREATED_DESC = "-created_at"
    CREATED_ASC = "created_at"
    UPDATED_DESC = "-updated_at"
    UPDATED_ASC = "updated_at"
    NAME_ASC = "name"
    NAME_DESC = "-name"
    CODE_ASC = "code"
    CODE_DESC = "-code"


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None  # quick search: code prefix or name substring
    name: str | None = None
    fuzzy: bool = False
    code: str | None = None
    industries: tuple[str, ...] = ()
    lifecycles: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    activity_statuses: tuple[str, ...] = ()
    review_statuses: tuple[str, ...] = ()  # new-record review: pending / approved / rejected
    owner_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    not_reviewed_since: datetime | None = None  # quarterly review: never or before this instant
    archived: bool | None = False  # False: live only, True: archived only, None: both
    ids: tuple[uuid.UUID, ...] = ()  # these customers only
    visible_owner: str | None = None  # set from the caller's role, never from the query
    extra: dict[str, str] = field(default_factory=dict)


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
