"""The CloudEvents 1.0 envelope (structured JSON mode) every event travels in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field
from pydantic_core import to_json

CONTENT_TYPE = "application/cloudevents+json"
TYPE_PREFIX = "crm."


class CloudEvent(BaseModel):
    """An integration event. ``type`` is ``crm.<routing key>``; ``data`` belongs to the producer."""

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str
    type: str
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = None

    @classmethod
    def new(
        cls,
        *,
        service: str,
        routing_key: str,
        subject: str | None,
        data: dict[str, Any],
        actor: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> CloudEvent:
        return cls(
            source=f"/crm/{service}",
            type=TYPE_PREFIX + routing_key,
            subject=subject,
            data=data,
            actor=actor,
            correlationid=correlation_id,
            causationid=causation_id,
        )

    @property
    def routing_key(self) -> str:
        return self.type.removeprefix(TYPE_PREFIX)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> CloudEvent:
        return cls.model_validate_json(body)


class PublishedEvents:
    """The event types one service publishes and the ``data`` model of each: the service owns
    them (``events/published.py``), the catalogue test holds them to ``docs/asyncapi.yaml``,
    and ``build`` refuses a payload of another model, so no event goes out under a type whose
    contract it does not keep."""

    def __init__(self, service: str, payloads: Mapping[str, type[BaseModel]]) -> None:
        self.service = service
        self.payloads = dict(payloads)

    @property
    def types(self) -> list[str]:
        return list(self.payloads)

    def build(
        self,
        routing_key: str,
        payload: BaseModel,
        *,
        subject: str,
        actor: str,
        causation_id: str | None = None,
    ) -> CloudEvent:
        model = self.payloads[routing_key]
        if not isinstance(payload, model):
            raise TypeError(f"{routing_key} carries {model.__name__}")
        return CloudEvent.new(
            service=self.service,
            routing_key=routing_key,
            subject=subject,
            data=payload.model_dump(mode="json"),
            actor=actor,
            causation_id=causation_id,
        )

    def serialized(
        self, routing_key: str, events: Iterable[tuple[str, Mapping[str, Any]]], *, actor: str
    ) -> list[tuple[uuid.UUID, str, str]]:
        """``build`` for many events of one type at once, serialized, as (event id, routing
        key, CloudEvent JSON body) for ``outbox.add_serialized_events``: the envelope is made
        once and each event's ``data`` (a mapping shaped like the type's model, given with
        its subject) written by pydantic's serializer, the JSON ``build`` would give. For bulk
        producers (a scheduler firing a hundred thousand reminders at once): a model per
        event cost more than the event."""
        if routing_key not in self.payloads:
            raise KeyError(f"{self.service} does not publish {routing_key}")
        envelope = CloudEvent.new(
            service=self.service, routing_key=routing_key, subject=None, data={}, actor=actor
        ).model_dump()
        envelope["time"] = datetime.now(UTC)
        bodies = []
        for subject, data in events:
            event_id = uuid.uuid4()
            body = {**envelope, "id": event_id, "subject": subject, "data": data}
            bodies.append((event_id, routing_key, to_json(body).decode()))
        return bodies
