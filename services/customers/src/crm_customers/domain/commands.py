"""The commands the customers use cases take: one typed, frozen value per use case that
creates something, built by the HTTP edge from a validated body (or by an event handler),
so a use case reads named fields instead of popping keys out of a dict.

Updates carry ``changes``, the fields the caller set (a PATCH's explicit fields), with the
version they were based on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class NewContact:
    name: str
    position: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    is_primary: bool = False  # a customer's first contact is primary whatever this says
    marketing_opt_out: Mapping[str, bool] | None = None  # channel → opted out

    def columns(self) -> dict[str, Any]:
        """The contact's own columns (opt-outs are set channel by channel)."""
        values = asdict(self)
        del values["marketing_opt_out"]
        return values


@dataclass(frozen=True, kw_only=True)
class CreateCustomer:
    kind: str
    name: str
    industry: str
    lifecycle: str = "prospect"
    activity_status: str = "active"
    grade: str | None = None
    credit_code: str | None = None
    registered_address: Mapping[str, Any] | None = None
    id_number: str | None = None  # encrypted and blind-indexed, never stored as given
    tags: tuple[str, ...] = ()
    source: str | None = None
    referred_by: uuid.UUID | None = None
    needs: str | None = None
    remarks: str | None = None
    owner_id: str | None = None  # None: the caller
    contacts: tuple[NewContact, ...] = field(default_factory=tuple)
    allow_duplicate: bool = False  # create even though a similar customer exists

    def columns(self) -> dict[str, Any]:
        """The customer's plain columns, as given."""
        return {
            "kind": self.kind,
            "name": self.name,
            "industry": self.industry,
            "lifecycle": self.lifecycle,
            "activity_status": self.activity_status,
            "grade": self.grade,
            "credit_code": self.credit_code,
            "registered_address": (
                dict(self.registered_address) if self.registered_address is not None else None
            ),
            "source": self.source,
            "referred_by": self.referred_by,
            "needs": self.needs,
            "remarks": self.remarks,
        }


@dataclass(frozen=True, kw_only=True)
class AddContact:
    customer_id: uuid.UUID
    contact: NewContact
    allow_duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class UpdateCustomer:
    customer_id: uuid.UUID
    changes: Mapping[str, Any]  # the fields the caller set, and only those
    expected_version: int
    change_reason: str | None = None  # why, when key fields of a won customer need approval


@dataclass(frozen=True, kw_only=True)
class TransferOwner:
    """Hand customers to another owner (离职交接): the listed ones, or every live customer
    of ``from_owner_id`` (exactly one of the two)."""

    to_owner_id: str
    customer_ids: tuple[uuid.UUID, ...] | None = None
    from_owner_id: str | None = None
    reason: str | None = None
