"""Reading customer spreadsheets (CSV or XLSX) into rows keyed by import column (pure code).

People keep customers in their own Excel files (seed 000's first pain point), with Chinese or
English headers. Each import column accepts several spellings; the header row is the first
non-empty row naming the required columns (a title row above it is skipped); row numbers are
the spreadsheet's own (the header is usually row 1), so a report line points at the line the
person sees in Excel.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from crm_platform.errors import InvalidInput, UnsupportedMedia


class ImportColumn(StrEnum):
    """The columns an import understands (canonical English names, also accepted as headers)."""

    NAME = "name"
    KIND = "kind"
    INDUSTRY = "industry"
    LIFECYCLE = "lifecycle"
    ACTIVITY_STATUS = "activity_status"
    GRADE = "grade"
    CREDIT_CODE = "credit_code"
    ID_NUMBER = "id_number"
    TAGS = "tags"
    SOURCE = "source"
    OWNER_ID = "owner_id"
    NEEDS = "needs"
    REMARKS = "remarks"
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    CONTACT_NAME = "contact_name"
    CONTACT_POSITION = "contact_position"
    CONTACT_MOBILE = "contact_mobile"
    CONTACT_PHONE = "contact_phone"
    CONTACT_EMAIL = "contact_email"
    CONTACT_WECHAT = "contact_wechat"


C = ImportColumn

# First spelling of each: the zh-CN header the export writes (so an export imports back).
HEADERS: dict[ImportColumn, tuple[str, ...]] = {
    C.NAME: ("客户名称", "名称", "客户名", "customer_name", "customer"),
    C.KIND: ("客户类型", "客户性质", "类型", "type", "customer_kind"),
    C.INDUSTRY: ("所属行业", "行业"),
    C.LIFECYCLE: ("客户阶段", "阶段", "生命周期", "stage"),
    C.ACTIVITY_STATUS: ("活跃状态", "activity", "status"),
    C.GRADE: ("客户等级", "等级", "客户级别", "级别"),
    C.CREDIT_CODE: ("统一社会信用代码", "信用代码", "社会信用代码", "uscc"),
    C.ID_NUMBER: ("身份证号", "身份证号码", "身份证", "id_card"),
    C.TAGS: ("标签", "客户标签", "tag"),
    C.SOURCE: ("来源", "客户来源", "线索来源", "lead_source"),
    C.OWNER_ID: ("负责人", "负责人id", "所属销售", "owner"),
    C.NEEDS: ("需求描述", "需求"),
    C.REMARKS: ("备注", "notes", "remark"),
    C.PROVINCE: ("省份", "省"),
    C.CITY: ("城市", "市"),
    C.DISTRICT: ("区县", "区/县", "区"),
    C.STREET: ("详细地址", "街道地址", "地址", "address"),
    C.CONTACT_NAME: ("联系人", "联系人姓名", "contact"),
    C.CONTACT_POSITION: ("职位", "联系人职位", "position", "title"),
    C.CONTACT_MOBILE: ("手机", "手机号", "手机号码", "联系人手机", "mobile"),
    C.CONTACT_PHONE: ("电话", "座机", "固定电话", "联系人电话", "phone"),
    C.CONTACT_EMAIL: ("邮箱", "电子邮箱", "联系人邮箱", "email"),
    C.CONTACT_WECHAT: ("微信", "微信号", "联系人微信", "wechat"),
}
REQUIRED_COLUMNS = (C.NAME, C.KIND, C.INDUSTRY)

# Columns an export writes that an import does not take (generated or system-owned): skipped
# silently so an exported file can be uploaded again.
EXPORT_ONLY_HEADERS = (
    ("客户编号", "code"),
    ("录入日期", "created_at"),
    ("最后更新日期", "updated_at"),
    ("创建人", "created_by"),
    ("审核状态", "review_status"),
    ("最后评审日期", "last_reviewed_at"),
    ("已归档", "archived"),
)

FORMULA_PREFIXES = ("=", "+", "-", "@")
"""Cells an export quotes with a leading ``'`` so spreadsheets do not run them as formulas."""

TAG_SEPARATORS = re.compile("[,;\n\u3001\uff0c\uff1b]+")  # also full-width comma, semicolon, 、
_BRACKETED = re.compile("[(\\[\u3010].*?[)\\]\u3011]")  # after NFKC: (...), [...], 【...】


def normalize_header(header: str) -> str:
    """``客户类型(企业/个人)*`` → ``客户类型``; ``Contact Mobile`` → ``contact_mobile``."""
    text = unicodedata.normalize("NFKC", header).strip()
    text = _BRACKETED.sub("", text).strip().strip("*").strip()
    return re.sub(r"[\s\-]+", "_", text.casefold())


_HEADER_INDEX: dict[str, ImportColumn] = {}
for _column, _spellings in HEADERS.items():
    for _spelling in (_column.value, *_spellings):
        _HEADER_INDEX[normalize_header(_spelling)] = _column
_EXPORT_ONLY = {normalize_header(s) for pair in EXPORT_ONLY_HEADERS for s in pair}


class ImportFileError(InvalidInput):
    """The file as a whole cannot be read (not a row problem): nothing is imported."""

    slug = "import-file-invalid"


class UnsupportedFile(UnsupportedMedia):
    slug = "unsupported-import-file"


@dataclass(frozen=True)
class SheetRow:
    number: int  # the spreadsheet's row number (header = 1 in a plain file)
    values: dict[ImportColumn, str]  # only the non-empty cells


@dataclass
class Sheet:
    file_format: str  # "csv" | "xlsx"
    columns: dict[str, str]  # header as written → import column
    ignored_columns: list[str]
    rows: list[SheetRow] = field(default_factory=list)


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ``.0`` (Excel stores mobiles as numbers), dates
    as ISO, everything stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
        return text[1:]  # the quote an export adds against formula injection
    return text


def map_headers(header: list[Any]) -> tuple[dict[int, ImportColumn], dict[str, str], list[str]]:
    """Which import column each position holds; refuses a file without the required ones."""
    positions: dict[int, ImportColumn] = {}
    seen: dict[ImportColumn, str] = {}
    ignored: list[str] = []
    for position, raw in enumerate(header):
        text = cell_text(raw)
        if not text:
            continue
        key = normalize_header(text)
        column = _HEADER_INDEX.get(key)
        if column is None:
            if key not in _EXPORT_ONLY:
                ignored.append(text)
            continue
        if column in seen:
            raise ImportFileError(
                f"Columns '{seen[column]}' and '{text}' both mean {column.value}; keep one."
            )
        seen[column] = text
        positions[position] = column
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        wanted = "; ".join(f"{c.value} ({HEADERS[c][0]})" for c in missing)
        raise ImportFileError(
            f"The header row lacks required columns: {wanted}. The header is the first "
            "non-empty row; Chinese or English headers are both accepted.",
            missing_columns=[c.value for c in missing],
        )
    return positions, {text: column.value for column, text in seen.items()}, ignored


def _table_rows_xlsx(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # only imports need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(f"The XLSX file cannot be read: {exc}.") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong used range; read what is there
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        workbook.close()


def _decode_csv(content: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else GB18030 (what Chinese Excel saves as CSV)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError("The CSV file is neither UTF-8 nor GB18030 text.") from None


def _table_rows_csv(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(_decode_csv(content), newline=""))
    try:
        for number, row in enumerate(reader, start=1):
            yield number, list(row)
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file is malformed: {exc}.") from None


def detect_format(content: bytes, file_name: str) -> str:
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if content.startswith(b"\xd0\xcf\x11\xe0") or file_name.lower().endswith(".xls"):
        raise UnsupportedFile("Old .xls workbooks are not supported; save the file as .xlsx.")
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError("The file is named .xlsx but is not an XLSX workbook.")
    return "csv"


HEADER_SEARCH_ROWS = 10
"""Rows above the header (a title such as 客户信息表, a note) are skipped, up to this many."""


def read_sheet(content: bytes, file_name: str, *, max_rows: int) -> Sheet:
    """The rows of the first worksheet (or the CSV), blank lines skipped; at most ``max_rows``.

    The header is the first non-empty row that names the required columns.
    """
    file_format = detect_format(content, file_name)
    rows = _table_rows_xlsx(content) if file_format == "xlsx" else _table_rows_csv(content)
    positions: dict[int, ImportColumn] | None = None
    sheet: Sheet | None = None
    first_problem: ImportFileError | None = None
    candidates = 0
    for number, cells in rows:
        if positions is None:
            if not any(cell_text(c) for c in cells):
                continue
            candidates += 1
            try:
                positions, columns, ignored = map_headers(cells)
            except ImportFileError as problem:
                first_problem = first_problem or problem
                if candidates >= HEADER_SEARCH_ROWS:
                    raise first_problem from None
                continue
            sheet = Sheet(file_format, columns, ignored)
            continue
        assert sheet is not None
        values = {}
        for position, column in positions.items():
            if position < len(cells) and (text := cell_text(cells[position])):
                values[column] = text
        if not values:
            continue
        if len(sheet.rows) >= max_rows:
            raise ImportFileError(
                f"The file has more than {max_rows} data rows; split it into smaller files.",
                max_rows=max_rows,
            )
        sheet.rows.append(SheetRow(number, values))
    if sheet is None:
        raise first_problem or ImportFileError("The file is empty: no header row was found.")
    return sheet


def split_tags(text: str) -> list[str]:
    """``高预算、决策周期短, 竞品客户`` → three tags (commas, 、 and semicolons separate)."""
    return [t.strip() for t in TAG_SEPARATORS.split(text) if t.strip()]
