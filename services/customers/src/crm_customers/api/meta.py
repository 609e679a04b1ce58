"""Codes and labels for UIs (/v1/meta/enums) and the administered lists behind them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import SortOrder
from crm_customers.domain import catalog
from crm_customers.domain.enums import LABELS
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.patch import Clearable, PatchBody

router = APIRouter(tags=["meta"])

Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class Option(BaseModel):
    code: str
    label_zh: str = Field(serialization_alias="zh-CN")
    label_en: str = Field(serialization_alias="en")
    active: bool = True


class IndustryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Slug
    name_zh: Label
    name_en: Label
    sort_order: SortOrder = 0


class IndustryPatch(PatchBody):
    name_zh: Label | None = None
    name_en: Label | None = None
    active: bool | None = None
    sort_order: SortOrder | None = None


class IndustryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    active: bool
    sort_order: int


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TagName
    name_en: Label | None = None


class TagPatch(PatchBody):
    name: TagName | None = None
    name_en: Annotated[Label | None, Clearable] = None
    active: bool | None = None


class TagOut(BaseModel):
    id: uuid.UUID
    name: str
    name_en: str | None
    active: bool


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@router.get("/v1/meta/enums", response_model_by_alias=True)
async def enums(session: SessionDep, _: Context) -> dict[str, list[Option]]:
    """Every enumeration of the customer record with zh-CN and en labels."""
    options = {
        _snake(enum.__name__): [
            Option(code=code, label_zh=zh, label_en=en) for code, (zh, en) in labels.items()
        ]
        for enum, labels in LABELS.items()
    }
    options["industry"] = [
        Option(code=i.code, label_zh=i.name_zh, label_en=i.name_en)
        for i in await catalog.list_industries(session)
    ]
    options["tag"] = [
        Option(code=t.name, label_zh=t.name, label_en=t.name_en or t.name)
        for t in await catalog.list_tags(session)
    ]
    return options


@router.get("/v1/industries", response_model=list[IndustryOut])
async def list_industries(
    session: SessionDep, _: Context, include_inactive: Annotated[bool, Query()] = False
) -> list[IndustryOut]:
    return [
        IndustryOut.model_validate(i, from_attributes=True)
        for i in await catalog.list_industries(session, include_inactive=include_inactive)
    ]


@router.post("/v1/industries", status_code=status.HTTP_201_CREATED, response_model=IndustryOut)
async def create_industry(body: IndustryIn, session: SessionDep, ctx: Context) -> IndustryOut:
    industry = await catalog.create_industry(session, ctx, body.model_dump())
    return IndustryOut.model_validate(industry, from_attributes=True)


@router.patch("/v1/industries/{code}", response_model=IndustryOut)
async def update_industry(
    code: str, body: IndustryPatch, session: SessionDep, ctx: Context
) -> IndustryOut:
    industry = await catalog.update_industry(
        session, ctx, code, body.model_dump(exclude_unset=True)
    )
    return IndustryOut.model_validate(industry, from_attributes=True)


@router.get("/v1/tags", response_model=list[TagOut])
async def list_tags(
    session: SessionDep, _: Context, include_inactive: Annotated[bool, Query()] = False
) -> list[TagOut]:
    return [
        TagOut.model_validate(t, from_attributes=True)
        for t in await catalog.list_tags(session, include_inactive=include_inactive)
    ]


@router.post("/v1/tags", status_code=status.HTTP_201_CREATED, response_model=TagOut)
async def create_tag(body: TagIn, session: SessionDep, ctx: Context) -> TagOut:
    return TagOut.model_validate(
        await catalog.create_tag(session, ctx, body.model_dump()), from_attributes=True
    )


@router.patch("/v1/tags/{tag_id}", response_model=TagOut)
async def update_tag(
    tag_id: uuid.UUID, body: TagPatch, session: SessionDep, ctx: Context
) -> TagOut:
    tag = await catalog.update_tag(session, ctx, tag_id, body.model_dump(exclude_unset=True))
    return TagOut.model_validate(tag, from_attributes=True)
