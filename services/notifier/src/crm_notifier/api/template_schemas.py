"""Request and response bodies of the notification templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_notifier.domain.kinds import KINDS
from crm_notifier.domain.templates import (
    MAX_BODY_CHARS,
    PreviewTemplate,
    Rendered,
    SaveTemplate,
    TemplateView,
)

SubjectSource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    Field(description="Jinja2, one line once rendered (at most 300 characters)"),
]
BodySource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_BODY_CHARS),
    Field(description="Jinja2, plain text"),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateOut(BaseModel):
    kind: str
    locale: str
    label: str = Field(description="The kind's name in the template's locale")
    urgent: bool
    customised: bool = Field(description="An admin's template; false: the built-in one")
    facts: list[str] = Field(description="The names the template may use")
    subject: str
    body: str
    version: int = Field(description="0 for the built-in template; send it back to change it")
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, view: TemplateView) -> TemplateOut:
        info = KINDS[view.kind]
        return cls(
            kind=view.kind.value,
            locale=view.locale,
            label=info.label_zh if view.locale == "zh-CN" else info.label_en,
            urgent=info.urgent,
            customised=view.customised,
            facts=list(view.facts),
            subject=view.subject,
            body=view.body,
            version=view.version,
            updated_at=view.updated_at,
            updated_by=view.updated_by,
        )


class TemplateListOut(BaseModel):
    items: list[TemplateOut]


class TemplateIn(Strict):
    subject: SubjectSource
    body: BodySource
    version: int | None = Field(
        default=None,
        ge=0,
        le=999_999_999,
        description="The version you read (or If-Match); needed to change a customised one",
    )

    def command(self, kind: str, locale: str, expected_version: int | None) -> SaveTemplate:
        return SaveTemplate(
            kind=kind,
            locale=locale,
            subject=self.subject,
            body=self.body,
            expected_version=expected_version,
        )


class PreviewIn(Strict):
    subject: SubjectSource | None = Field(default=None, description="Unsaved text to try")
    body: BodySource | None = Field(default=None, description="Unsaved text to try")
    facts: dict[str, Any] | None = Field(
        default=None, description="Values over the sample facts", max_length=50
    )

    def command(self, kind: str, locale: str) -> PreviewTemplate:
        return PreviewTemplate(
            kind=kind, locale=locale, subject=self.subject, body=self.body, facts=self.facts
        )


class PreviewOut(BaseModel):
    kind: str
    locale: str
    subject: str
    body: str

    @classmethod
    def of(cls, kind: str, locale: str, rendered: Rendered) -> PreviewOut:
        return cls(kind=kind, locale=locale, subject=rendered.subject, body=rendered.body)
