"""Request and response bodies of the customers API, with the field-level validation."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from crm_customers.domain.commands import AddContact, CreateCustomer, NewContact
from crm_customers.domain.enums import ActivityStatus, CustomerKind, Grade, LeadSource, Lifecycle
from crm_customers.domain.validation import (
    credit_code_error,
    id_number_error,
    is_landline,
    is_mainland_mobile,
)
from crm_platform.http.patch import Clearable, PatchBody


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _check(error_of):  # type: ignore[no-untyped-def]
    def check(value: str) -> str:
        error = error_of(value)
        if error:
            raise ValueError(error)
        return value

    return check


def _mobile(value: str) -> str:
    if not is_mainland_mobile(value):
        raise ValueError("must be a mainland mobile number: 11 digits starting with 13-19")
    return value


def _landline(value: str) -> str:
    if not is_landline(value):
        raise ValueError("must be a landline such as 010-12345678 or 400-123-4567")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
CreditCode = Annotated[str, BeforeValidator(_upper), AfterValidator(_check(credit_code_error))]
IdNumber = Annotated[str, BeforeValidator(_upper), AfterValidator(_check(id_number_error))]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_mobile)]
Landline = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_landline)]
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000, description="Lower sorts first")]
"""Bounded: an unbounded integer reached the INTEGER column and answered 500."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(Strict):
    province: ShortText | None = None
    city: ShortText | None = None
    district: ShortText | None = None
    street: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class OptOuts(Strict):
    email: bool = False
    sms: bool = False
    wechat: bool = False


class ContactIn(Strict):
    name: ShortText
    position: ShortText | None = None
    mobile: Mobile | None = None
    phone: Landline | None = None
    email: EmailStr | None = None
    wechat: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    is_primary: bool = False
    marketing_opt_out: OptOuts | None = None

    def new_contact(self) -> NewContact:
        values = self.model_dump(mode="json", include=set(ContactIn.model_fields))
        return NewContact(**values)


class ContactCreate(ContactIn):
    allow_duplicate: bool = Field(default=False, description="Create despite a shared mobile")

    def command(self, customer_id: uuid.UUID) -> AddContact:
        return AddContact(
            customer_id=customer_id,
            contact=self.new_contact(),
            allow_duplicate=self.allow_duplicate,
        )


class ContactPatch(PatchBody):
    """Only what changes; ``null`` clears position, mobile, phone, email or wechat."""

    version: int | None = Field(default=None, ge=1, description="Or send If-Match")
    name: ShortText | None = None
    position: Annotated[ShortText | None, Clearable] = None
    mobile: Annotated[Mobile | None, Clearable] = None
    phone: Annotated[Landline | None, Clearable] = None
    email: Annotated[EmailStr | None, Clearable] = None
    wechat: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None, Clearable
    ] = None
    is_primary: bool | None = None
    marketing_opt_out: OptOuts | None = None


class ContactOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    position: str | None
    mobile: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    is_primary: bool
    marketing_opt_out: OptOuts
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, contact: Any) -> "ContactOut":
        return cls(
            **{f: getattr(contact, f) for f in cls.model_fields if hasattr(contact, f)},
            marketing_opt_out=OptOuts(
                email=contact.opt_out_email, sms=contact.opt_out_sms, wechat=contact.opt_out_wechat
            ),
            archived=contact.archived_at is not None,
        )


class _CustomerFields(Strict):
    """Fields a customer may lack are ``Clearable``: a PATCH may send them as null."""

    name: Name | None = None
    industry: Code | None = None
    lifecycle: Lifecycle | None = None
    activity_status: ActivityStatus | None = None
    grade: Annotated[Grade | None, Clearable] = None
    credit_code: Annotated[CreditCode | None, Clearable] = None
    registered_address: Annotated[Address | None, Clearable] = None
    id_number: Annotated[IdNumber | None, Clearable] = None
    tags: list[TagName] | None = Field(default=None, max_length=50)
    source: Annotated[LeadSource | None, Clearable] = None
    referred_by: Annotated[uuid.UUID | None, Clearable] = None
    needs: Annotated[Text | None, Clearable] = None
    remarks: Annotated[Text | None, Clearable] = None


class CustomerCreate(_CustomerFields):
    kind: CustomerKind
    name: Name
    industry: Code
    lifecycle: Lifecycle = Lifecycle.PROSPECT
    activity_status: ActivityStatus = ActivityStatus.ACTIVE
    tags: list[TagName] = Field(default_factory=list, max_length=50)
    owner_id: Code | None = Field(default=None, description="Defaults to the caller")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)
    allow_duplicate: bool = Field(
        default=False, description="Create even though a similar customer exists"
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Self:
        if self.kind == CustomerKind.INDIVIDUAL:
            if self.credit_code is not None:
                raise ValueError("credit_code applies to enterprise customers only")
            if self.registered_address is not None:
                raise ValueError("registered_address applies to enterprise customers only")
        elif self.id_number is not None:
            raise ValueError("id_number applies to individual customers only")
        if self.source != LeadSource.REFERRAL and self.referred_by is not None:
            raise ValueError("referred_by needs source 'referral'")
        return self

    def command(self) -> CreateCustomer:
        values = self.model_dump(mode="json", exclude={"contacts", "tags", "referred_by"})
        return CreateCustomer(
            **values,
            tags=tuple(self.tags),
            referred_by=self.referred_by,
            contacts=tuple(contact.new_contact() for contact in self.contacts),
        )


class CustomerPatch(PatchBody, _CustomerFields):
    version: int | None = Field(default=None, ge=1, description="Or send If-Match")
    kind: CustomerKind | None = None
    change_reason: Text | None = Field(
        default=None, description="Why, if key fields of a won customer need approval"
    )

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(
            mode="json", exclude_unset=True, exclude={"version", "change_reason"}
        )
        if "referred_by" in data:
            data["referred_by"] = self.referred_by
        return data


class ArchiveRequest(Strict):
    version: int | None = Field(default=None, ge=1)


class CustomerOut(BaseModel):
    id: uuid.UUID
    code: str
    kind: CustomerKind
    name: str
    industry: str
    lifecycle: Lifecycle
    activity_status: ActivityStatus
    grade: Grade | None
    credit_code: str | None
    registered_address: Address | None
    id_number: str | None = Field(description="Masked unless your role may read it (audited)")
    tags: list[str]
    source: str | None
    referred_by: uuid.UUID | None
    needs: str | None
    remarks: str | None
    owner_id: str
    created_by: str
    review_status: str
    merged_into: uuid.UUID | None = Field(default=None, description="Set on a merged duplicate")
    created_at: datetime
    updated_at: datetime
    last_reviewed_at: datetime | None
    archived: bool
    version: int

    @classmethod
    def of(cls, view: Any) -> "CustomerOut":
        customer = view.customer
        fields = {f: getattr(customer, f) for f in cls.model_fields if hasattr(customer, f)}
        return cls(
            **fields | {"tags": view.tags, "id_number": view.id_number},
            archived=customer.archived_at is not None,
        )


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    total_exact: bool = Field(
        default=True,
        description="False when more customers match than are counted exactly "
        "(CRM_SEARCH_EXACT_TOTAL_LIMIT); total is then the database's estimate",
    )
    page: int
    page_size: int
