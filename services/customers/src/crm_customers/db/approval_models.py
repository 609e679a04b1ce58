"""Tables of approvals and ownership operations: change requests to key fields of won
customers, decisions of the new-record review, and owner transfers (离职交接)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, text
from sqlmodel import Field

from crm_customers.db.registry import CustomersModel
from crm_platform.db import UtcDateTime


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


_change_request_version = Column("version", Integer, nullable=False, default=1)


class ChangeRequest(CustomersModel, table=True):
    """Key-field changes of a won customer waiting for a manager (seed 000 §2.1, seed 002 §1).

    ``changes`` holds the requested values, ``previous`` the values they would replace, so the
    decision can be made (and audited later) without guessing what the record looked like.
    """

    __tablename__ = "customer_change_request"
    __table_args__ = (
        # At most one pending request per customer; the customer row lock serialises creators,
        # this index is the backstop.
        Index(
            "uq_change_request_pending",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_change_request_status_created", "status", "created_at"),
    )
    __mapper_args__ = {"version_id_col": _change_request_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    previous: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    requested_by: str = Field(max_length=64, index=True)
    reason: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="pending", max_length=16)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _timestamp(nullable=True)
    decision_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=_change_request_version)


class ReviewDecision(CustomersModel, table=True):
    """One decision of the new-record review; the history keeps every reason given."""

    __tablename__ = "customer_review_decision"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    decision: str = Field(max_length=16)  # approved | rejected | resubmitted
    reason: str | None = Field(default=None, max_length=1000)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = _timestamp()


class OwnerTransfer(CustomersModel, table=True):
    """One owner transfer (离职交接): who moved how many customers to whom, and why."""

    __tablename__ = "customer_owner_transfer"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    from_owner_id: str | None = Field(default=None, max_length=64, index=True)
    to_owner_id: str = Field(max_length=64, index=True)
    reason: str | None = Field(default=None, max_length=1000)
    customer_count: int
    transferred_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
