"""The commands of the partners' bus subscriptions: one frozen value per use case that changes
something, built by the HTTP edge from the validated request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ProvisionPartnerQueue:
    partner: str  # the slug: acme-logistics
    display_name: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RevokePartnerQueue:
    partner: str
    delete_queue: bool = False
