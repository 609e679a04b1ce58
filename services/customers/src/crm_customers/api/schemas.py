"""Request and response bodies of the customers API."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_customers.domain.enums import CustomerKind, Lifecycle

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CustomerKind
    name: Name
    industry: Code
    lifecycle: Lifecycle = Lifecycle.PROSPECT
    owner_id: Code | None = Field(default=None, description="Defaults to the caller")


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    kind: CustomerKind
    name: str
    industry: str
    lifecycle: Lifecycle
    owner_id: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    page: int
    page_size: int
