"""Request and response bodies of the knowledge-base API."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_platform.http.patch import PatchBody
from crm_service_desk.db.kb_models import KbArticle
from crm_service_desk.domain.kb import KbStatus, TopArticle, UseRecorded
from crm_service_desk.domain.kb_commands import CreateKbArticle

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20_000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
Tags = Annotated[list[Tag], Field(max_length=10)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KbArticleCreate(Strict):
    question: Question
    answer: Answer
    tags: Tags = Field(default_factory=list)
    status: KbStatus = Field(default=KbStatus.DRAFT, description="draft, or published at once")

    def command(self) -> CreateKbArticle:
        return CreateKbArticle(
            question=self.question,
            answer=self.answer,
            tags=tuple(self.tags),
            status=self.status.value,
        )


class KbArticlePatch(PatchBody):
    question: Question | None = None
    answer: Answer | None = None
    tags: Tags | None = None
    status: KbStatus | None = None
    version: int | None = Field(default=None, ge=1, description="Or send If-Match")

    def changes(self) -> dict[str, object]:
        changes = self.model_dump(exclude_unset=True, exclude={"version"})
        if "status" in changes:
            changes["status"] = KbStatus(changes["status"]).value
        return changes


class KbArticleOut(BaseModel):
    id: uuid.UUID
    question: str
    answer: str
    tags: list[str]
    status: KbStatus
    use_count: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    published_at: datetime | None
    version: int

    @classmethod
    def of(cls, article: KbArticle) -> "KbArticleOut":
        return cls.model_validate(article, from_attributes=True)


class KbArticlePage(BaseModel):
    items: list[KbArticleOut]
    total: int
    total_exact: bool = Field(
        description="False when more than 1,000 articles match; total is then the database's "
        "estimate (a broad search is narrowed, not paged through)"
    )
    page: int
    page_size: int


class KbUseIn(Strict):
    ticket_id: uuid.UUID | None = Field(
        default=None, description="The ticket it answered: counted once per ticket"
    )


class KbUseOut(BaseModel):
    article_id: uuid.UUID
    ticket_id: uuid.UUID | None
    counted: bool = Field(description="False when this ticket's use was recorded before")
    use_count: int

    @classmethod
    def of(cls, recorded: UseRecorded) -> "KbUseOut":
        return cls(
            article_id=recorded.article_id,
            ticket_id=recorded.ticket_id,
            counted=recorded.counted,
            use_count=recorded.use_count,
        )


class KbTopItem(BaseModel):
    article: KbArticleOut
    uses: int = Field(description="Uses in the period asked for (all time without one)")

    @classmethod
    def of(cls, top: TopArticle) -> "KbTopItem":
        return cls(article=KbArticleOut.of(top.article), uses=top.uses)


class KbTop(BaseModel):
    items: list[KbTopItem]
    days: int | None


class KbSuggestions(BaseModel):
    items: list[KbArticleOut]
