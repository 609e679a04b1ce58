"""Routes of customer import and export.

Included in the app before ``customers.router``: ``/v1/customers/imports`` and
``/v1/customers/export`` would otherwise reach ``/v1/customers/{customer_id}`` and fail its
UUID check (422) instead of falling through.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from crm_customers.api.customer_filter import customer_filter
from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import CustomerCreate
from crm_customers.db.import_models import CustomerImport
from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain import exports, imports
from crm_customers.domain.commands import CreateCustomer
from crm_customers.domain.import_files import HEADERS, ImportFileError, read_sheet
from crm_platform.http.dependencies import JobSessionDep, SessionDep

router = APIRouter(prefix="/v1/customers", tags=["customer import and export"])


# --- import ----------------------------------------------------------------------------------


class ImportCounts(BaseModel):
    total: int
    valid: int
    error: int
    duplicate: int
    created: int
    warned: int = Field(
        description="Valid rows that look like an existing customer (imported, flagged)"
    )


class ImportRowOut(BaseModel):
    row: int
    status: imports.RowStatus
    name: str | None
    reasons: list[str]
    duplicate_of: dict[str, Any] | None = None
    customer_id: uuid.UUID | None = None
    code: str | None = None
    warnings: list[str] = Field(
        default=[],
        description="A valid row that the API would answer with possible-duplicate: why",
    )
    possible_duplicates: list[dict[str, str]] = Field(
        default=[], description="The customers it looks like ({id, code, name, reason})"
    )


class ImportSummary(BaseModel):
    id: uuid.UUID
    file_name: str
    sha256: str
    file_format: str
    dry_run: bool
    status: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    counts: ImportCounts
    columns: dict[str, str]
    ignored_columns: list[str]
    failure: str | None
    new_tags: list[str] | None = Field(
        default=None,
        description="With create_missing_tags: the tags this import created (a dry run: "
        "would create), those its importable rows use that did not exist",
    )

    @classmethod
    def of(cls, record: CustomerImport) -> "ImportSummary":
        return cls(
            **{f: getattr(record, f) for f in cls.model_fields if hasattr(record, f)}
            | {"columns": record.columns.get("mapped", {})},
            counts=ImportCounts(
                total=record.total_rows,
                valid=record.valid_rows,
                error=record.error_rows,
                duplicate=record.duplicate_rows,
                created=record.created_rows,
                warned=record.warned_rows,
            ),
            ignored_columns=record.columns.get("ignored", []),
        )


class ImportReport(ImportSummary):
    rows: list[ImportRowOut]


class ImportPage(BaseModel):
    items: list[ImportSummary]
    total: int
    page: int
    page_size: int


def validate_row(body: dict[str, Any]) -> CreateCustomer:
    """A row goes through exactly the schema of ``POST /v1/customers``, into the same command."""
    return CustomerCreate.model_validate(body).command()


@router.post("/imports", response_model=ImportReport)
async def import_customers(
    session: JobSessionDep,
    ctx: Context,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX")],
    dry_run: Annotated[
        bool, Query(description="true (default): only report; false: import the valid rows")
    ] = True,
    create_missing_tags: Annotated[
        bool,
        Query(
            description="Admins: create the tags the rows name that do not exist yet "
            "(listed in new_tags; a dry run creates none). Others: 403"
        ),
    ] = False,
) -> ImportReport:
    """Dry run: a report for every row (valid / error with reasons / duplicate). Commit:
    the valid rows are created, ``import_batch_size`` per transaction; repeating it adds none."""
    imports.ensure_can_import(ctx, create_missing_tags=create_missing_tags)
    content = await file.read()
    file_name = file.filename or "upload"
    if not content:
        raise ImportFileError("The uploaded file is empty.")
    sheet = await asyncio.to_thread(
        read_sheet, content, file_name, max_rows=ctx.settings.import_max_rows
    )
    outcome = await imports.import_customers(
        session,
        ctx,
        sheet,
        file_name=file_name,
        content_sha256=imports.file_checksum(content),
        dry_run=dry_run,
        validate=validate_row,
        create_missing_tags=create_missing_tags,
    )
    if not dry_run:
        response.status_code = status.HTTP_201_CREATED
    return ImportReport(
        **ImportSummary.of(outcome.record).model_dump(),
        rows=[ImportRowOut.model_validate(r.as_json()) for r in outcome.rows],
    )


@router.get("/imports", response_model=ImportPage)
async def list_imports(
    session: SessionDep,
    ctx: Context,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ImportPage:
    """Newest first; a sales rep sees their own imports, managers and admins all."""
    records, total = await imports.list_imports(session, ctx, page=page, page_size=page_size)
    return ImportPage(
        items=[ImportSummary.of(r) for r in records], total=total, page=page, page_size=page_size
    )


class TemplateFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


@router.get("/imports/template")
async def import_template(_: Context, format: TemplateFormat = TemplateFormat.XLSX) -> Response:
    """An empty file with every import column (zh-CN headers; English ones work as well)."""
    headers = [spellings[0] for spellings in HEADERS.values()]
    if format is TemplateFormat.CSV:
        return Response(
            ("\ufeff" + ",".join(headers) + "\r\n").encode(),
            media_type="text/csv; charset=utf-8",
            headers=_attachment("customer-import-template", "客户导入模板", "csv"),
        )
    path = await exports.write_template_xlsx(headers)
    return FileResponse(
        path,
        media_type=XLSX_MEDIA_TYPE,
        headers=_attachment("customer-import-template", "客户导入模板", "xlsx"),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/imports/{import_id}", response_model=ImportReport)
async def get_import(import_id: uuid.UUID, session: SessionDep, ctx: Context) -> ImportReport:
    """The record, the rows that were not imported (errors and duplicates) and the imported
    rows that came with warnings."""
    record = await imports.get_import(session, ctx, import_id)
    return ImportReport(
        **ImportSummary.of(record).model_dump(),
        rows=[ImportRowOut.model_validate(r) for r in record.problems],
    )


# --- export ----------------------------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


def _attachment(ascii_name: str, zh_name: str, extension: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return {
        "content-disposition": (
            f'attachment; filename="{ascii_name}-{stamp}.{extension}"; '
            f"filename*=UTF-8''{quote(f'{zh_name}-{stamp}.{extension}')}"
        )
    }


@router.get("/export", response_class=Response)
async def export_customers(
    session: JobSessionDep,
    ctx: Context,
    flt: Annotated[CustomerFilter, Depends(customer_filter)],
    format: ExportFormat = ExportFormat.XLSX,
    sort: SortKey = SortKey.CREATED_DESC,
) -> Response:
    """The filtered list (what the caller may list) as XLSX or CSV, zh-CN headers, ID numbers
    masked. CSV streams as it is read; XLSX is written to a temporary file, then streamed."""
    export = exports.CustomerExport(session, ctx, flt, sort)
    if format is ExportFormat.CSV:
        return StreamingResponse(
            exports.csv_chunks(export),
            media_type="text/csv; charset=utf-8",
            headers=_attachment("customers", "客户列表", "csv"),
        )
    limit = ctx.settings.export_xlsx_max_rows
    if await export.count_exceeds(limit):
        raise exports.ExportTooLarge(
            f"More than {limit} customers match; an XLSX export holds at most {limit}. "
            "Narrow the filters or export as CSV."
        )
    path = await exports.write_xlsx(export)
    return FileResponse(
        path,
        media_type=XLSX_MEDIA_TYPE,
        headers=_attachment("customers", "客户列表", "xlsx"),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
