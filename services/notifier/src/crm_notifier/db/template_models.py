"""The notification templates an admin has customised: one row per kind and locale; a kind
and locale without a row uses the built-in template (``domain/templates.py``)."""

from datetime import datetime

from sqlalchemy import Column, Integer, Text
from sqlmodel import Field

from crm_notifier.db.registry import NotifierModel
from crm_platform.db import UtcDateTime

_template_version = Column("version", Integer, nullable=False, default=1)


class NotificationTemplate(NotifierModel, table=True):
    """An admin's Jinja2 ``subject`` and ``body`` for one kind in one locale, validated when
    saved. Versioned: every UPDATE carries ``WHERE version = :read``."""

    __tablename__ = "notification_template"
    __mapper_args__ = {"version_id_col": _template_version}

    kind: str = Field(primary_key=True, max_length=32)
    locale: str = Field(primary_key=True, max_length=10)
    subject: str = Field(max_length=1000)
    body: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=_template_version)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_by: str = Field(max_length=64)
