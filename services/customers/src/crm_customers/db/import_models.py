"""The record of every customer import (dry run or commit), so imports can be listed and a
repeated upload recognised by its checksum."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer
from sqlmodel import Field

from crm_customers.db.registry import CustomersModel
from crm_platform.db import UtcDateTime

_import_version = Column("version", Integer, nullable=False, default=1)


class CustomerImport(CustomersModel, table=True):
    """One uploaded file: who, when, its counts, and the rows that were not imported."""

    __tablename__ = "customer_import"
    __mapper_args__ = {"version_id_col": _import_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    file_format: str = Field(max_length=8)
    dry_run: bool
    status: str = Field(max_length=16)  # running | completed | failed
    created_by: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    total_rows: int = 0
    valid_rows: int = 0
    error_rows: int = 0
    duplicate_rows: int = 0
    created_rows: int = 0
    warned_rows: int = 0  # valid rows that look like an existing customer (possible-duplicate)
    columns: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    problems: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    new_tags: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """Tags the import creates (a dry run: would create), asked with ``create_missing_tags``."""
    failure: str | None = Field(default=None, max_length=2000)
    version: int = Field(default=1, sa_column=_import_version)
