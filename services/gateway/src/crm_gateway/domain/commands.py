"""The commands the gateway's use cases take: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CreateUser:
    username: str
    password: str
    display_name: str
    roles: tuple[str, ...]
    email: str | None = None
    mobile: str | None = None
    team: str | None = None
    manager_id: str | None = None
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class UpdateUser:
    """``changes``: the fields the caller set (display_name, email, mobile, team,
    manager_id, roles), based on ``expected_version``."""

    user_id: str
    changes: Mapping[str, Any]
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class SetUserActive:
    user_id: str
    active: bool
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class SetRoles:
    user_id: str
    roles: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ResetPassword:
    user_id: str
    new_password: str


@dataclass(frozen=True, kw_only=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True, kw_only=True)
class ChangePassword:
    user_id: str
    session_id: str | None
    current_password: str
    new_password: str


@dataclass(frozen=True, kw_only=True)
class CreateApiKey:
    owner_id: str
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None
