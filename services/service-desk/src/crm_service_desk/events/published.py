"""Events the service-desk service publishes, and their payloads (owned here)."""

from datetime import datetime

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "service-desk"

KB_ARTICLE_PUBLISHED = "kb.article_published"


class KbArticlePublished(BaseModel):
    """A knowledge-base article became visible to everybody (created published, or moved to
    published from draft or archived). The answer stays out: readers fetch the article."""

    id: str
    question: str
    tags: list[str]
    published_by: str
    published_at: datetime
    version: int


PAYLOADS: dict[str, type[BaseModel]] = {
    KB_ARTICLE_PUBLISHED: KbArticlePublished,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build
