"""The customers service's core tables: customers, contacts, tags, industries, code serials.
Feature tables live in ``approval_models``, ``grading_models`` and ``import_models``."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, text
from sqlmodel import Field

from crm_customers.db.registry import CustomersModel
from crm_platform.db import UtcDateTime


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


_customer_version = Column("version", Integer, nullable=False, default=1)


class Customer(CustomersModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        Index(  # owner lists and their counts answered from the index alone
            "ix_customer_live_owner_lifecycle",
            "owner_id",
            "lifecycle",
            "created_at",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
        Index(
            "ix_customer_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            # Queried by every create (similar names): no pending list to scan linearly.
            postgresql_with={"fastupdate": "off"},
        ),
        # The similar-name check of every create compares core names (domain/names.py).
        # On SQLite (no trigrams) it is a btree for equal core names.
        Index(
            "ix_customer_name_core_trgm",
            "name_core",
            postgresql_using="gin",
            postgresql_ops={"name_core": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        ),
        Index(
            "uq_customer_credit_code",
            "credit_code",
            unique=True,
            postgresql_where=text("credit_code IS NOT NULL"),
            sqlite_where=text("credit_code IS NOT NULL"),
        ),
        # Managers work through the review queue at a million customers: index only the few
        # rows not approved (pending or rejected), so the filter stays cheap and small.
        Index(
            "ix_customer_review_open",
            "review_status",
            "created_at",
            postgresql_where=text("review_status <> 'approved'"),
            sqlite_where=text("review_status <> 'approved'"),
        ),
        # The quarterly review's worklist (GET /customers/review-due): live customers never
        # reviewed (NULLs are in a btree) or reviewed before the quarter began, each one a
        # range of this index; a rep's owner_id is checked in the index too.
        Index(
            "ix_customer_live_review_due",
            "last_reviewed_at",
            "owner_id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": _customer_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=200)
    name_normalized: str = Field(max_length=200, index=True)
    # Nullable only so that adding it never rewrote or locked a large table; every write sets
    # it and migration c2f7a9d4e6b1 filled the rows before it.
    name_core: str | None = Field(default=None, max_length=200)
    industry: str = Field(max_length=64, index=True)
    lifecycle: str = Field(max_length=16)
    activity_status: str = Field(default="active", max_length=16)
    grade: str | None = Field(default=None, max_length=1, index=True)
    credit_code: str | None = Field(default=None, max_length=18)
    registered_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    id_number_encrypted: str | None = Field(default=None, max_length=200)
    id_number_index: str | None = Field(default=None, max_length=64, index=True)
    source: str | None = Field(default=None, max_length=32)
    referred_by: uuid.UUID | None = Field(default=None)
    needs: str | None = Field(default=None, max_length=4000)
    remarks: str | None = Field(default=None, max_length=4000)
    owner_id: str = Field(max_length=64, index=True)
    created_by: str = Field(max_length=64)
    review_status: str = Field(default="approved", max_length=16)
    merged_into: uuid.UUID | None = Field(default=None)
    created_at: datetime = _timestamp(index=True)
    updated_at: datetime = _timestamp()
    last_reviewed_at: datetime | None = _timestamp(nullable=True)
    archived_at: datetime | None = _timestamp(nullable=True)
    version: int = Field(default=1, sa_column=_customer_version)


_contact_version = Column("version", Integer, nullable=False, default=1)


class Contact(CustomersModel, table=True):
    __tablename__ = "contact"
    __mapper_args__ = {"version_id_col": _contact_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=100)
    position: str | None = Field(default=None, max_length=100)
    mobile: str | None = Field(default=None, max_length=11, index=True)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wechat: str | None = Field(default=None, max_length=64)
    is_primary: bool = False
    opt_out_email: bool = False
    opt_out_sms: bool = False
    opt_out_wechat: bool = False
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    archived_at: datetime | None = _timestamp(nullable=True)
    version: int = Field(default=1, sa_column=_contact_version)


class Industry(CustomersModel, table=True):
    """Administered list of industries (national industry classification sections)."""

    __tablename__ = "industry"

    code: str = Field(primary_key=True, max_length=64)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    active: bool = True
    sort_order: int = 0


class Tag(CustomersModel, table=True):
    """Administered tags: free-form names, but only those an admin created may be used."""

    __tablename__ = "tag"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_column=Column(String(50), nullable=False, unique=True))
    name_en: str | None = Field(default=None, max_length=100)
    active: bool = True
    created_at: datetime = _timestamp()


class CustomerTag(CustomersModel, table=True):
    __tablename__ = "customer_tag"

    customer_id: uuid.UUID = Field(foreign_key="customer.id", primary_key=True)
    tag_id: uuid.UUID = Field(foreign_key="tag.id", primary_key=True, index=True)


class CodeSequence(CustomersModel, table=True):
    """Per-scope counters; incremented with an upsert so concurrent creates never collide."""

    __tablename__ = "code_sequence"

    scope: str = Field(primary_key=True, max_length=64)
    last_serial: int = 0
