"""Prometheus metrics with the names fixed in DESIGN.md, one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled",
    ["service", "method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration",
    ["service", "method", "route"],
    registry=REGISTRY,
)
EVENTS_PUBLISHED = Counter(
    "crm_events_published_total", "Events confirmed by the broker", ["type"], registry=REGISTRY
)
EVENTS_CONSUMED = Counter(
    "crm_events_consumed_total",
    "Events handled, by outcome (handled, duplicate, retried, parked, unhandled)",
    ["type", "outcome"],
    registry=REGISTRY,
)
EVENT_HANDLING = Histogram(
    "crm_event_handling_seconds", "Time spent handling one event", ["type"], registry=REGISTRY
)
EVENT_LAG = Histogram(
    "crm_event_lag_seconds",
    "Event time to handled",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "crm_outbox_backlog", "Outbox rows not yet confirmed by the broker", registry=REGISTRY
)
OUTBOX_FAILING = Gauge(
    "crm_outbox_failing",
    "Unpublished outbox rows with at least one failed attempt (listed at /v1/admin/outbox)",
    registry=REGISTRY,
)
OUTBOX_OLDEST_PENDING_AGE = Gauge(
    "crm_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox row (database clock); 0 when none",
    registry=REGISTRY,
)
OUTBOX_HANDOFF_LEFT_TO_SWEEP = Counter(
    "crm_outbox_handoff_left_to_sweep_total",
    "Committed rows the hand-off left to the sweep (hand-off full, too old, or broker down)",
    registry=REGISTRY,
)
EVENTS_UNROUTED = Gauge(
    "crm_events_unrouted",
    "Events in crm.events.unrouted: published with no queue bound to their type",
    registry=REGISTRY,
)
EVENTS_PARKED = Counter(
    "crm_events_parked_total", "Events parked after exhausting retries", ["type"], registry=REGISTRY
)
CONSUMER_PAUSED = Gauge(
    "crm_consumer_paused",
    "1 while consumption waits for the database or broker to come back (no attempt is spent)",
    registry=REGISTRY,
)
CONSUMER_INFRASTRUCTURE_ERRORS = Counter(
    "crm_consumer_infrastructure_errors_total",
    "Batches put back because the database or its pool failed (not counted as attempts)",
    registry=REGISTRY,
)
CONSUMER_CANCELLED = Counter(
    "crm_consumer_cancelled_total",
    "Times the broker cancelled the consumer (queue deleted or re-created); it re-subscribes",
    registry=REGISTRY,
)
INBOX_PRUNED = Counter(
    "crm_inbox_pruned_total", "Inbox rows deleted past their retention", registry=REGISTRY
)
OUTBOX_PRUNED = Counter(
    "crm_outbox_pruned_total", "Published outbox rows deleted past retention", registry=REGISTRY
)
BROKER_CONNECTED = Gauge(
    "crm_broker_connected", "1 when the broker connection is open", ["role"], registry=REGISTRY
)


def prime_bus_metrics(event_types: list[str]) -> None:
    """Create label sets up front so dashboards see zeros instead of missing series."""
    for event_type in event_types:
        EVENTS_PUBLISHED.labels(type=event_type)
        EVENTS_CONSUMED.labels(type=event_type, outcome="handled")
    OUTBOX_BACKLOG.set(0)
    OUTBOX_FAILING.set(0)
    OUTBOX_OLDEST_PENDING_AGE.set(0)
    CONSUMER_PAUSED.set(0)
