"""Customer import (SPEC §1 "Import"): a dry run reports every row; a commit imports the valid
rows in batches, one transaction each, and is safe to repeat.

Rules are the API's: each row becomes the body of ``POST /v1/customers`` and goes through the
same schema (the router hands it in as ``validate``, so the domain does not depend on the API
layer), then through the same database rules (administered industry and tags, owner).

A row is a duplicate, and never imported twice, when its identity already exists:
- its credit code (enterprises) or ID number (individuals) belongs to a customer, or to an
  earlier valid row of the same file;
- without either, its natural key — kind, normalized name (``normalize_name``) and owner — matches
  a customer or an earlier valid row. So committing the same file again adds nothing, and so
  does importing an exported list.

A row that the API would answer with ``possible-duplicate`` (a name like a live customer's, a
contact mobile a live customer's contact has) is valid with ``warnings`` and its
``possible_duplicates``: checked for the whole file at once (``find_soft_duplicates_many``),
before the first batch, so a commit reports what its dry run did. A commit imports such rows
(the uploader has seen the warnings, as ``allow_duplicate`` in the API) and keeps them flagged
in the import's record.

Tags must be administered, as in the API; an admin may ask the import to create the missing
ones (``create_missing_tags``): the tags used by importable rows are created in the import's
first transaction (a dry run lists them), never a tag an admin deactivated. Anyone else's
import reports each row's missing tags.
"""

import hashlib
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import import_repository as repo
from crm_customers.db import serials
from crm_customers.db.import_models import CustomerImport
from crm_customers.db.models import Contact, Customer
from crm_customers.domain import access
from crm_customers.domain.codes import format_customer_code, sequence_scope
from crm_customers.domain.commands import CreateCustomer, NewContact
from crm_customers.domain.contacts import contact_snapshot
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import (
    LABELS,
    ActivityStatus,
    CustomerKind,
    Grade,
    LeadSource,
    Lifecycle,
    ReviewStatus,
)
from crm_customers.domain.import_files import ImportColumn, Sheet, SheetRow, split_tags
from crm_customers.domain.names import core_name, normalize_name
from crm_customers.domain.records import (
    ID_NUMBER_CONTEXT,
    SoftDuplicateQuestion,
    find_soft_duplicates_many,
    snapshot_of,
)
from crm_customers.events import published as ev
from crm_platform.errors import Conflict, Forbidden, NotFound
from crm_platform.events.outbox import add_events
from crm_platform.integrity import violation_of

C = ImportColumn

RowValidator = Callable[[dict[str, Any]], CreateCustomer]
"""API body → the ``CreateCustomer`` command ``POST /v1/customers`` would build from it;
raises ``pydantic.ValidationError``."""


class RowStatus(StrEnum):
    VALID = "valid"
    ERROR = "error"
    DUPLICATE = "duplicate"


@dataclass
class RowReport:
    row: int
    status: RowStatus
    name: str | None
    reasons: list[str] = field(default_factory=list)
    duplicate_of: dict[str, Any] | None = None
    customer_id: uuid.UUID | None = None  # set once a commit created it
    code: str | None = None
    warnings: list[str] = field(default_factory=list)
    possible_duplicates: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": self.status.value,
            "name": self.name,
            "reasons": list(self.reasons),
            "duplicate_of": self.duplicate_of,
            "customer_id": str(self.customer_id) if self.customer_id else None,
            "code": self.code,
            "warnings": list(self.warnings),
            "possible_duplicates": list(self.possible_duplicates),
        }


@dataclass(frozen=True)
class TagRef:
    """A tag as plain values: ORM objects expire when a batch rolls back."""

    id: uuid.UUID
    name: str
    active: bool


@dataclass
class _Candidate:
    """A valid row, ready to insert."""

    report: RowReport
    fields: dict[str, Any]  # the customer's plain columns (CreateCustomer.columns())
    contacts: tuple[NewContact, ...]
    tags: list[TagRef]
    owner_id: str
    id_number: str | None
    id_index: str | None
    natural_key: tuple[str, str, str]


@dataclass
class ImportOutcome:
    record: CustomerImport
    rows: list[RowReport]


# --- values: codes or zh-CN/en labels -------------------------------------------------------


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _short_label(label: str) -> str:
    """``A级(高价值)`` → ``A级``; ``潜在客户`` → ``潜在``: what people type in a sheet."""
    base = unicodedata.normalize("NFKC", label).split("(")[0]
    return base.removesuffix("客户") or base


def _enum_spellings(enum: type[StrEnum]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, (zh, en) in LABELS[enum].items():
        for spelling in (code, zh, en, _short_label(zh)):
            table.setdefault(_fold(spelling), code)
    return table


ENUM_COLUMNS: dict[ImportColumn, dict[str, str]] = {
    C.KIND: _enum_spellings(CustomerKind),
    C.LIFECYCLE: _enum_spellings(Lifecycle),
    C.ACTIVITY_STATUS: _enum_spellings(ActivityStatus),
    C.GRADE: _enum_spellings(Grade) | {_fold(f"{g}级"): g.value for g in Grade},
    C.SOURCE: _enum_spellings(LeadSource),
}


@dataclass(frozen=True)
class Catalog:
    """Administered industries and tags, read once per import (never once per row)."""

    industries: dict[str, str]  # folded code / zh / en name → code
    active_industries: frozenset[str]
    tags: dict[str, TagRef]
    create_missing_tags: bool = False
    new_tags: dict[str, TagRef] = field(default_factory=dict)
    """Tags no one administers yet that rows named, when the import may create them."""

    def tag(self, name: str) -> TagRef | None:
        """The active tag called ``name``; a new one when missing and the import may create
        it (never a deactivated one: an admin retired it)."""
        found = self.tags.get(name)
        if found is not None:
            return found if found.active else None
        if not self.create_missing_tags:  # (the row's schema has checked the name's length)
            return None
        if name not in self.new_tags:
            self.new_tags[name] = TagRef(uuid.uuid4(), name, True)
        return self.new_tags[name]

    @classmethod
    async def load(cls, session: AsyncSession, *, create_missing_tags: bool = False) -> "Catalog":
        industries: dict[str, str] = {}
        active = set()
        for industry in await repo.all_industries(session):
            for spelling in (industry.code, industry.name_zh, industry.name_en):
                industries.setdefault(_fold(spelling), industry.code)
            if industry.active:
                active.add(industry.code)
        tags = {t.name: TagRef(t.id, t.name, t.active) for t in await repo.all_tags(session)}
        return cls(industries, frozenset(active), tags, create_missing_tags)


# --- one row ---------------------------------------------------------------------------------

_CONTACT_FIELDS = {
    C.CONTACT_NAME: "name",
    C.CONTACT_POSITION: "position",
    C.CONTACT_MOBILE: "mobile",
    C.CONTACT_PHONE: "phone",
    C.CONTACT_EMAIL: "email",
    C.CONTACT_WECHAT: "wechat",
}
_ADDRESS_FIELDS = (C.PROVINCE, C.CITY, C.DISTRICT, C.STREET)
_PLAIN_FIELDS = (C.NAME, C.CREDIT_CODE, C.ID_NUMBER, C.OWNER_ID, C.NEEDS, C.REMARKS)
_COLUMN_NAMES = {c.value for c in ImportColumn}


def api_body(row: SheetRow, catalog: Catalog) -> tuple[dict[str, Any], list[str]]:
    """The ``POST /v1/customers`` body a row stands for, and reasons found while translating.

    Labels become codes; unknown values pass through unchanged so the schema names them.
    """
    values = row.values
    body: dict[str, Any] = {}
    reasons: list[str] = []
    for column in _PLAIN_FIELDS:
        if column in values:
            body[column.value] = values[column]
    if "*" in body.get(C.ID_NUMBER, ""):
        del body[C.ID_NUMBER]
        reasons.append("id_number: is masked (as exported); enter the full ID number")
    for column, spellings in ENUM_COLUMNS.items():
        if column in values:
            body[column.value] = spellings.get(_fold(values[column]), values[column])
    if C.INDUSTRY in values:
        body["industry"] = catalog.industries.get(_fold(values[C.INDUSTRY]), values[C.INDUSTRY])
    if C.TAGS in values:
        body["tags"] = split_tags(values[C.TAGS])
    address = {c.value: values[c] for c in _ADDRESS_FIELDS if c in values}
    if address:
        body["registered_address"] = address
    contact = {name: values[c] for c, name in _CONTACT_FIELDS.items() if c in values}
    if contact:
        body["contacts"] = [contact]
    return body, reasons


def _column_of(location: Sequence[int | str]) -> str | None:
    """Where pydantic found the error, as the import column a person can fix."""
    if not location:
        return None
    head = str(location[0])
    if head == "contacts" and len(location) >= 3:
        return f"contact_{location[2]}"
    if head == "registered_address" and len(location) >= 2:
        return str(location[1])
    return head


def schema_reasons(error: ValidationError) -> list[str]:
    """``credit_code: check character does not match (GB 32100-2015)``, one per problem."""
    reasons = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        column = _column_of(problem["loc"])
        if problem["type"] == "missing":
            message = "is required"
        elif problem["type"] == "enum":
            message = f"'{problem['input']}' is not allowed; {message[0].lower()}{message[1:]}"
        if column is None:
            first, _, rest = message.partition(" ")
            reasons.append(f"{first}: {rest}" if first in _COLUMN_NAMES else message)
        else:
            reasons.append(f"{column}: {message}")
    return reasons


def _business_reasons(
    command: CreateCustomer, owner_id: str, catalog: Catalog, ctx: RequestContext
) -> tuple[list[str], list[TagRef]]:
    """The rules ``create_customer`` checks against the database, on the preloaded catalog."""
    reasons = []
    if command.industry not in catalog.active_industries:
        reasons.append(f"industry: '{command.industry}' is not an administered industry")
    tags, unknown = [], []
    for name in dict.fromkeys(command.tags):
        tag = catalog.tag(name)
        if tag is None:
            unknown.append(name)
        else:
            tags.append(tag)
    if unknown:
        reasons.append(f"tags: not administered tags: {', '.join(unknown)}")
    try:  # the role rules of create_customer, as row reasons
        access.ensure_can_create(ctx.identity, owner_id)
    except Forbidden as exc:
        reasons.append(f"owner_id: {exc.detail.rstrip('.')} (got '{owner_id}')")
    try:
        access.ensure_can_set_grade(ctx.identity, None, command.grade)
    except Forbidden as exc:
        reasons.append(f"grade: {exc.detail}")
    return reasons, tags


def check_rows(
    sheet: Sheet, catalog: Catalog, ctx: RequestContext, validate: RowValidator
) -> tuple[list[RowReport], list[_Candidate]]:
    """Every row's report; the valid ones also as candidates (duplicates not yet checked)."""
    reports: list[RowReport] = []
    candidates: list[_Candidate] = []
    for row in sheet.rows:
        body, reasons = api_body(row, catalog)
        report = RowReport(row.number, RowStatus.VALID, row.values.get(C.NAME))
        reports.append(report)
        try:
            command = validate(body)
        except ValidationError as exc:
            report.status, report.reasons = RowStatus.ERROR, reasons + schema_reasons(exc)
            continue
        owner_id = command.owner_id or ctx.actor
        business, tags = _business_reasons(command, owner_id, catalog, ctx)
        if reasons or business:
            report.status, report.reasons = RowStatus.ERROR, reasons + business
            continue
        id_number = command.id_number
        candidates.append(
            _Candidate(
                report=report,
                fields=command.columns(),
                contacts=command.contacts,
                tags=tags,
                owner_id=owner_id,
                id_number=id_number,
                id_index=(
                    ctx.cipher.blind_index(id_number, context=ID_NUMBER_CONTEXT)
                    if id_number
                    else None
                ),
                natural_key=(command.kind, normalize_name(command.name), owner_id),
            )
        )
    return reports, candidates


# --- duplicates ------------------------------------------------------------------------------


def _identity(candidate: _Candidate) -> tuple[str, Any]:
    if candidate.fields.get("credit_code"):
        return "credit_code", candidate.fields["credit_code"]
    if candidate.id_index:
        return "id_number", candidate.id_index
    return "natural", candidate.natural_key


def _duplicate_reason(
    kind: str, candidate: _Candidate, *, customer: str | None = None, row: int | None = None
) -> str:
    """Which identity made the row a duplicate, and of what."""
    if kind == "credit_code":
        subject = f"credit_code: {candidate.fields['credit_code']}"
    elif kind == "id_number":
        subject = "id_number: this ID number"
    else:
        subject = "name: this name, kind and owner"
    if customer is not None:
        return f"{subject} already belongs to customer {customer}"
    return f"{subject} is also in row {row}"


def _mark_duplicate(candidate: _Candidate, reason: str, pointer: dict[str, Any]) -> None:
    candidate.report.status = RowStatus.DUPLICATE
    candidate.report.reasons = [reason]
    candidate.report.duplicate_of = pointer


async def drop_existing(session: AsyncSession, candidates: list[_Candidate]) -> list[_Candidate]:
    """Mark the candidates whose identity a customer already has; returns the others."""
    by_kind: dict[str, list[_Candidate]] = {"credit_code": [], "id_number": [], "natural": []}
    for candidate in candidates:
        by_kind[_identity(candidate)[0]].append(candidate)
    existing: dict[tuple[str, Any], tuple[uuid.UUID, str]] = {}
    for credit_code, hit in (
        await repo.customers_by_credit_code(
            session, (c.fields["credit_code"] for c in by_kind["credit_code"])
        )
    ).items():
        existing["credit_code", credit_code] = hit
    for index, hit in (
        await repo.customers_by_id_number_index(
            session, (c.id_index for c in by_kind["id_number"] if c.id_index)
        )
    ).items():
        existing["id_number", index] = hit
    for key, hit in (
        await repo.customers_by_natural_key(session, (c.natural_key[1] for c in by_kind["natural"]))
    ).items():
        existing["natural", key] = hit
    # A merged-away customer keeps its identity; the row points at the one it went into.
    survivors = await repo.survivors_of(session, (hit[0] for hit in existing.values()))
    remaining = []
    for candidate in candidates:
        kind, value = _identity(candidate)
        hit = existing.get((kind, value))
        if hit is None:
            remaining.append(candidate)
            continue
        survivor = survivors.get(hit[0])
        if survivor is None:
            _mark_duplicate(
                candidate,
                _duplicate_reason(kind, candidate, customer=hit[1]),
                {"customer_id": str(hit[0]), "code": hit[1]},
            )
            continue
        _mark_duplicate(
            candidate,
            _duplicate_reason(kind, candidate, customer=f"{hit[1]}, merged into {survivor[1]}"),
            {
                "customer_id": str(survivor[0]),
                "code": survivor[1],
                "merged_from": {"customer_id": str(hit[0]), "code": hit[1]},
            },
        )
    return remaining


def drop_repeated(candidates: list[_Candidate]) -> list[_Candidate]:
    """Mark rows whose identity an earlier valid row of the same file has."""
    first_row: dict[tuple[str, Any], int] = {}
    remaining = []
    for candidate in candidates:
        identity = _identity(candidate)
        if identity in first_row:
            earlier = first_row[identity]
            _mark_duplicate(
                candidate, _duplicate_reason(identity[0], candidate, row=earlier), {"row": earlier}
            )
            continue
        first_row[identity] = candidate.report.row
        remaining.append(candidate)
    return remaining


def _warning(candidate: dict[str, str]) -> str:
    customer = f"customer {candidate['code']} ({candidate['name']})"
    if candidate["reason"].startswith("same_contact_mobile:"):
        mobile = candidate["reason"].partition(":")[2]
        return f"contact_mobile: {mobile} is already a contact's mobile at {customer}"
    return f"name: looks like {customer}"


async def flag_possible_duplicates(session: AsyncSession, candidates: list[_Candidate]) -> None:
    """Warn, as ``POST /v1/customers`` answers ``possible-duplicate``, of rows whose name looks
    like a live customer's or whose contact mobile a live customer's contact has. The row
    stays valid and is imported; its report keeps the warnings and the candidates."""
    questions = [
        SoftDuplicateQuestion(
            c.fields["name"], [m for contact in c.contacts if (m := contact.mobile)]
        )
        for c in candidates
    ]
    answers = await find_soft_duplicates_many(session, questions)
    for candidate, found in zip(candidates, answers, strict=True):
        candidate.report.possible_duplicates = found
        candidate.report.warnings = [_warning(f) for f in found]


# --- the use cases ---------------------------------------------------------------------------


def ensure_can_import(ctx: RequestContext, *, create_missing_tags: bool = False) -> None:
    if not (access.can_write_any(ctx.identity) or ctx.identity.roles & access.WRITE_OWN):
        raise Forbidden("Your role cannot create customers, so it cannot import them.")
    if create_missing_tags:
        try:
            access.ensure_settings_admin(ctx.identity)
        except Forbidden:
            raise Forbidden(
                "Only an admin may create tags; import without create_missing_tags and the "
                "rows naming tags that do not exist are reported."
            ) from None


def tags_to_create(catalog: Catalog, candidates: Sequence[_Candidate]) -> list[TagRef]:
    """The new tags the importable rows use, in the order they first appear."""
    used = {t.id for c in candidates for t in c.tags}
    return [t for t in catalog.new_tags.values() if t.id in used]


def _counts(record: CustomerImport, reports: list[RowReport]) -> None:
    record.total_rows = len(reports)
    record.valid_rows = sum(r.status == RowStatus.VALID for r in reports)
    record.error_rows = sum(r.status == RowStatus.ERROR for r in reports)
    record.duplicate_rows = sum(r.status == RowStatus.DUPLICATE for r in reports)
    record.created_rows = sum(r.customer_id is not None for r in reports)
    record.warned_rows = sum(r.status == RowStatus.VALID and bool(r.warnings) for r in reports)
    record.problems = [r.as_json() for r in reports if r.status != RowStatus.VALID or r.warnings]


async def import_customers(
    session: AsyncSession,
    ctx: RequestContext,
    sheet: Sheet,
    *,
    file_name: str,
    content_sha256: str,
    dry_run: bool,
    validate: RowValidator,
    create_missing_tags: bool = False,
) -> ImportOutcome:
    """Check every row; unless ``dry_run``, create the valid ones, batch by batch (and first,
    with ``create_missing_tags``, an admin's missing tags).

    The one use case that commits by itself: an import is a job of many transactions, a batch
    each, so a failure keeps the batches before it (and the report says where it stopped).
    Its caller hands it a session with no transaction open (``JobSessionDep``)."""
    ensure_can_import(ctx, create_missing_tags=create_missing_tags)
    record = CustomerImport(
        file_name=file_name[:255],
        sha256=content_sha256,
        file_format=sheet.file_format,
        dry_run=dry_run,
        status="running",
        created_by=ctx.actor,
        created_at=datetime.now(UTC),
        columns={"mapped": sheet.columns, "ignored": sheet.ignored_columns},
    )
    try:
        async with session.begin():
            catalog = await Catalog.load(session, create_missing_tags=create_missing_tags)
            reports, candidates = check_rows(sheet, catalog, ctx, validate)
            candidates = drop_repeated(await drop_existing(session, candidates))
            await flag_possible_duplicates(session, candidates)
            new_tags = tags_to_create(catalog, candidates)
            if create_missing_tags:
                record.new_tags = [t.name for t in new_tags]
            if dry_run:
                record.status, record.finished_at = "completed", datetime.now(UTC)
            elif new_tags:
                await repo.insert_tags(
                    session,
                    [
                        {
                            "id": t.id,
                            "name": t.name,
                            "active": True,
                            "created_at": record.created_at,
                        }
                        for t in new_tags
                    ],
                )
            _counts(record, reports)
            session.add(record)
    except IntegrityError:  # a tag of the same name was created meanwhile
        raise Conflict(
            "Tags changed while this import was checked; upload the file again.",
            slug="import-conflict",
        ) from None
    if dry_run:
        return ImportOutcome(record, reports)

    record_id, batch_size = record.id, ctx.settings.import_batch_size
    session.expunge_all()  # each batch starts lean; rows are tracked in the plain reports
    try:
        for start in range(0, len(candidates), batch_size):
            await _commit_batch(session, ctx, candidates[start : start + batch_size])
    except Exception as exc:
        await _finish(session, record_id, reports, failure=f"{type(exc).__name__}: {exc}")
        raise
    return ImportOutcome(await _finish(session, record_id, reports, failure=None), reports)


async def _finish(
    session: AsyncSession, record_id: uuid.UUID, reports: list[RowReport], *, failure: str | None
) -> CustomerImport:
    """Store the outcome of a commit, also when a batch failed (earlier batches stay)."""
    async with session.begin():
        record = await repo.get_import(session, record_id)
        assert record is not None
        _counts(record, reports)
        record.status = "failed" if failure else "completed"
        record.failure = failure[:2000] if failure else None
        record.finished_at = datetime.now(UTC)
        session.add(record)
    return record


async def _commit_batch(
    session: AsyncSession, ctx: RequestContext, batch: list[_Candidate]
) -> None:
    """One transaction: re-check duplicates under the code counter's lock, insert, stage.

    A unique-index race with a concurrent edit rolls the batch back; it is checked and tried
    once more, then the import fails (and is safe to repeat).
    """
    for attempt in (1, 2):
        try:
            created = await _insert_batch(session, ctx, batch)
        except IntegrityError as exc:
            if violation_of(exc).kind != "unique" or attempt == 2:
                raise Conflict(
                    "Customers changed while this import ran; upload the file again "
                    "(rows already imported are reported as duplicates).",
                    slug="import-conflict",
                ) from None
            continue
        for candidate, customer in created:
            candidate.report.customer_id = customer.id
            candidate.report.code = customer.code
        session.expunge_all()
        return


async def _insert_batch(
    session: AsyncSession, ctx: RequestContext, batch: list[_Candidate]
) -> list[tuple[_Candidate, Customer]]:
    prefix = ctx.settings.customer_code_prefix
    review_status = (
        ReviewStatus.PENDING if ctx.settings.customer_review_new else ReviewStatus.APPROVED
    )
    async with session.begin():
        now = datetime.now(UTC)
        scope = sequence_scope(prefix, now.year)
        await repo.lock_scope(session, scope)  # the lock first, then the re-check
        fresh = await drop_existing(session, batch)
        if not fresh:
            return []
        numbers = await serials.take_serials(session, scope, len(fresh))
        created: list[tuple[_Candidate, Customer]] = []
        for serial, candidate in zip(numbers, fresh, strict=True):
            customer = Customer(
                **candidate.fields,
                code=format_customer_code(prefix, now.year, serial),
                name_normalized=candidate.natural_key[1],
                name_core=core_name(candidate.fields["name"]),
                id_number_encrypted=(
                    ctx.cipher.encrypt(candidate.id_number, context=ID_NUMBER_CONTEXT)
                    if candidate.id_number
                    else None
                ),
                id_number_index=candidate.id_index,
                owner_id=candidate.owner_id,
                created_by=ctx.actor,
                review_status=review_status,
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            created.append((candidate, customer))
        await session.flush()  # customers first: no relationship tells the ORM the FK order
        contacts: list[Contact] = []
        tag_links: list[dict[str, uuid.UUID]] = []
        for candidate, customer in created:
            for position, new in enumerate(candidate.contacts):
                columns = new.columns() | {"is_primary": position == 0}
                contact = Contact(
                    customer_id=customer.id, created_at=now, updated_at=now, **columns
                )
                session.add(contact)
                contacts.append(contact)
            tag_links += [{"customer_id": customer.id, "tag_id": t.id} for t in candidate.tags]
        await session.flush()
        await repo.insert_customer_tags(session, tag_links)
        # What ``stage`` does per event, as one multi-row insert into the outbox.
        events = [
            ev.build_event(
                ev.CUSTOMER_CREATED,
                snapshot_of(customer, sorted(t.name for t in candidate.tags)),
                subject=str(customer.id),
                actor=ctx.actor,
            )
            for candidate, customer in created
        ] + [
            ev.build_event(
                ev.CONTACT_CHANGED,
                contact_snapshot(contact, "created"),
                subject=str(contact.id),
                actor=ctx.actor,
            )
            for contact in contacts
        ]
        add_events(session, events)
    return created


def file_checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- reading the records ---------------------------------------------------------------------


def _record_scope(ctx: RequestContext) -> str | None:
    """Managers and admins see every import; a rep only their own."""
    ensure_can_import(ctx)
    return None if access.can_write_any(ctx.identity) else ctx.actor


async def list_imports(
    session: AsyncSession, ctx: RequestContext, *, page: int, page_size: int
) -> tuple[list[CustomerImport], int]:
    scope = _record_scope(ctx)
    return await repo.list_imports(
        session, created_by=scope, offset=(page - 1) * page_size, limit=page_size
    )


async def get_import(
    session: AsyncSession, ctx: RequestContext, import_id: uuid.UUID
) -> CustomerImport:
    scope = _record_scope(ctx)
    record = await repo.get_import(session, import_id)
    if record is None or (scope is not None and record.created_by != scope):
        raise NotFound(f"No import {import_id}.")
    return record
