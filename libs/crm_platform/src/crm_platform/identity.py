"""The internal token: minted by the gateway, verified by every service on every call.

A service never trusts a bare header; the signed, short-lived token is the only identity.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt

ISSUER = "crm-gateway"
AUDIENCE = "crm-internal"
ALGORITHM = "HS256"

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Identity:
    """Who is calling: a person (roles from the gateway) or a service identity."""

    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str = ""

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class InvalidToken(Exception):
    """The token is missing, expired, forged or malformed."""


def mint_internal_token(
    secret: str,
    *,
    subject: str,
    roles: list[str] | tuple[str, ...] | frozenset[str],
    name: str = "",
    ttl_seconds: int = 60,
) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "roles": sorted(roles),
        "name": name,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_internal_token(secret: str, token: str) -> Identity:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("roles claim must be a list of strings")
    return Identity(
        subject=str(claims["sub"]), roles=frozenset(roles), name=str(claims.get("name", ""))
    )
