"""Customer export (SPEC §1): any filtered list, as XLSX or CSV, zh-CN headers, streamed.

What a caller exports is what they may list: a sales rep only their own customers. ID numbers
are always masked (a bulk file is no place for an audited, unmasked read). The columns are the
import's (first zh-CN spelling), so an exported file can be uploaded again; 客户编号 and the
dates are export-only and skipped by an import.
"""

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import import_repository, repository
from crm_customers.db.models import Contact, Customer
from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain import access
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import LABELS, ActivityStatus, CustomerKind, LeadSource, Lifecycle
from crm_customers.domain.import_files import HEADERS, ImportColumn
from crm_customers.domain.records import (
    ID_NUMBER_CONTEXT,
)
from crm_customers.domain.validation import mask_id_number
from crm_platform.errors import InvalidInput

C = ImportColumn
BATCH = 500
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _header(column: ImportColumn) -> str:
    return HEADERS[column][0]


def _label(enum: type, code: str | None) -> str:
    if not code:
        return ""
    return LABELS[enum].get(code, (code, code))[0]


Getter = Callable[[Customer, list[str], Contact | None], str]


def _address(part: str) -> Getter:
    return lambda c, _t, _p: str((c.registered_address or {}).get(part) or "")


def _contact(attribute: str) -> Getter:
    return lambda _c, _t, p: str(getattr(p, attribute) or "") if p is not None else ""


class ExportTooLarge(InvalidInput):
    slug = "export-too-large"


class CustomerExport:
    """The rows of one export, produced batch by batch from a streamed query."""

    def __init__(
        self, session: AsyncSession, ctx: RequestContext, flt: CustomerFilter, sort: SortKey
    ):
        self.session = session
        self.ctx = ctx
        self.filter = replace(flt, visible_owner=access.owner_scope(ctx.identity))
        self.sort = sort
        self.zone = ZoneInfo(ctx.settings.timezone)
        self.industries: dict[str, str] = {}

    def _time(self, value: Any) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def _id_number(self, customer: Customer) -> str:
        if not customer.id_number_encrypted:
            return ""
        clear = self.ctx.cipher.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)
        return mask_id_number(clear)

    def columns(self) -> list[tuple[str, Getter]]:
        return [
            ("客户编号", lambda c, _t, _p: c.code),
            (_header(C.NAME), lambda c, _t, _p: c.name),
            (_header(C.KIND), lambda c, _t, _p: _label(CustomerKind, c.kind)),
            (_header(C.INDUSTRY), lambda c, _t, _p: self.industries.get(c.industry, c.industry)),
            (_header(C.LIFECYCLE), lambda c, _t, _p: _label(Lifecycle, c.lifecycle)),
            (
                _header(C.ACTIVITY_STATUS),
                lambda c, _t, _p: _label(ActivityStatus, c.activity_status),
            ),
            (_header(C.GRADE), lambda c, _t, _p: c.grade or ""),
            (_header(C.CREDIT_CODE), lambda c, _t, _p: c.credit_code or ""),
            (_header(C.ID_NUMBER), lambda c, _t, _p: self._id_number(c)),
            (_header(C.TAGS), lambda _c, t, _p: "、".join(t)),
            (_header(C.SOURCE), lambda c, _t, _p: _label(LeadSource, c.source)),
            (_header(C.OWNER_ID), lambda c, _t, _p: c.owner_id),
            (_header(C.NEEDS), lambda c, _t, _p: c.needs or ""),
            (_header(C.REMARKS), lambda c, _t, _p: c.remarks or ""),
            (_header(C.PROVINCE), _address("province")),
            (_header(C.CITY), _address("city")),
            (_header(C.DISTRICT), _address("district")),
            (_header(C.STREET), _address("street")),
            (_header(C.CONTACT_NAME), _contact("name")),
            (_header(C.CONTACT_POSITION), _contact("position")),
            (_header(C.CONTACT_MOBILE), _contact("mobile")),
            (_header(C.CONTACT_PHONE), _contact("phone")),
            (_header(C.CONTACT_EMAIL), _contact("email")),
            (_header(C.CONTACT_WECHAT), _contact("wechat")),
            ("录入日期", lambda c, _t, _p: self._time(c.created_at)),
            ("最后更新日期", lambda c, _t, _p: self._time(c.updated_at)),
        ]

    async def count_exceeds(self, limit: int) -> bool:
        """Whether more than ``limit`` customers match (counts no further than that)."""
        async with self.session.begin():
            _, total, _ = await repository.page_customers(
                self.session,
                self.filter,
                sort=self.sort,
                offset=0,
                limit=1,
                exact_total_up_to=limit,
            )
        return total > limit

    async def batches(self) -> AsyncIterator[list[list[str]]]:
        """Header first, then the rows, ``BATCH`` at a time, in one read transaction."""
        columns = self.columns()
        yield [[name for name, _ in columns]]
        async with self.session.begin():
            self.industries = {
                i.code: i.name_zh for i in await import_repository.all_industries(self.session)
            }
            pending: list[Customer] = []
            async for customer in repository.iterate_customers(
                self.session, self.filter, sort=self.sort, batch=BATCH
            ):
                pending.append(customer)
                if len(pending) == BATCH:
                    yield await self._rows(pending, columns)
                    pending = []
            if pending:
                yield await self._rows(pending, columns)

    async def _rows(
        self, customers: list[Customer], columns: list[tuple[str, Getter]]
    ) -> list[list[str]]:
        ids = [c.id for c in customers]
        tags = await repository.tags_of(self.session, ids)
        contacts = await import_repository.primary_contacts_of(self.session, ids)
        # Clean objects are held weakly by the session: once a batch is written, it is freed.
        return [[get(c, tags[c.id], contacts.get(c.id)) for _, get in columns] for c in customers]


def _csv_safe(value: str) -> str:
    """Spreadsheet formula injection: a leading ``=``/``+``/``-``/``@`` is quoted with ``'``."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


async def csv_chunks(export: CustomerExport) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, so Excel opens the Chinese text correctly."""
    yield "\ufeff".encode()
    async for rows in export.batches():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows([[_csv_safe(v) for v in row] for row in rows])
        yield buffer.getvalue().encode("utf-8")


async def write_xlsx(export: CustomerExport) -> Path:
    """A write-only workbook in a temporary file (the caller streams, then deletes it)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("客户")

    def cell(value: str) -> Any:
        if not value.startswith("="):
            return value
        text = WriteOnlyCell(sheet, value=value)
        text.data_type = "s"  # written as text, never as a formula
        return text

    async for rows in export.batches():
        for row in rows:
            sheet.append([cell(v) for v in row])
    return await _save(workbook, "customers-")


async def write_template_xlsx(headers: list[str]) -> Path:
    """An empty import sheet: just the header row."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    workbook.create_sheet("客户").append(headers)
    return await _save(workbook, "template-")


async def _save(workbook: Any, prefix: str) -> Path:
    """Into a new temporary file (off the event loop: zipping a big sheet takes a while)."""

    def save() -> Path:
        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".xlsx")
        os.close(descriptor)
        path = Path(name)
        try:
            workbook.save(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    return await asyncio.to_thread(save)
