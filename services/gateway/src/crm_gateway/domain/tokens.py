"""Access tokens (JWT, HS256 with ``CRM_JWT_SECRET``), refresh tokens and API key secrets.

Pure functions: minting and verifying need no database. Whether the token's user is still
active and its session still open is checked per request by ``authentication``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

ISSUER = "crm-gateway"
AUDIENCE = "crm-api"  # not the internal token's audience: one never passes for the other
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "sid"]
API_KEY_MARK = "crm_"
REFRESH_TOKEN_BYTES = 32


class TokenRefused(Exception):
    """The token is expired, forged, malformed or not an access token of this gateway."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    token_id: str
    expires_at: int


def mint_access_token(
    secret: str, *, user_id: str, session_id: str, now: datetime, ttl_seconds: int
) -> tuple[str, int]:
    """The token and its expiry (seconds since the epoch)."""
    issued = int(now.timestamp())
    expires = issued + ttl_seconds
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "sid": session_id,
        "iat": issued,
        "exp": expires,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def verify_access_token(secret: str, token: str) -> AccessClaims:
    """The claims of a valid access token; ``TokenRefused`` for anything else: no ``exp``,
    expired, another audience or issuer, a signature by another key, ``alg`` other than
    HS256 (``none`` included)."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenRefused(f"algorithm {header.get('alg')!r} is not accepted")
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        raise TokenRefused(str(exc) or type(exc).__name__) from exc
    subject, session, token_id = claims["sub"], claims["sid"], claims["jti"]
    if not all(isinstance(value, str) and value for value in (subject, session, token_id)):
        raise TokenRefused("sub, sid and jti must be strings")
    return AccessClaims(subject, session, token_id, int(claims["exp"]))


class AccessTokenVerifier:
    """``verify_access_token`` remembering the tokens it verified until they expire (by the
    same rule: ``exp`` plus the leeway): a client sends its token with every request of the
    token's life, and checking the signature each time was 7% of a forwarded call's CPU. Only
    the token's own validity is remembered; whether its user and session still may is read
    per request (``IdentityStates``)."""

    def __init__(self, secret: str, *, max_entries: int = 50_000) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._verified: dict[str, AccessClaims] = {}

    def verify(self, token: str, *, now: float | None = None) -> AccessClaims:
        now = time.time() if now is None else now
        claims = self._verified.get(token)
        if claims is not None:
            if now < claims.expires_at + LEEWAY_SECONDS:
                return claims
            del self._verified[token]
            raise TokenRefused("Signature has expired")  # PyJWT's words for the same rule
        claims = verify_access_token(self._secret, token)
        if len(self._verified) >= self._max_entries:
            self._verified.clear()
        self._verified[token] = claims
        return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def digest(secret: str) -> str:
    """sha256 hex: refresh tokens and API keys are stored only as this (they are long random
    strings, so a fast hash suffices; nothing to guess)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """``(key, prefix)``: ``crm_<12 hex>_<secret>``; the prefix (``crm_<12 hex>``) finds the
    row, the sha256 of the whole key proves it."""
    prefix = API_KEY_MARK + secrets.token_hex(6)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of something shaped like an API key, else None."""
    if not key.startswith(API_KEY_MARK):
        return None
    prefix, sep, rest = key.partition("_")[2].partition("_")
    if not sep or len(prefix) != 12 or not rest:
        return None
    try:
        int(prefix, 16)
    except ValueError:
        return None
    return API_KEY_MARK + prefix


def same_digest(key: str, stored: str) -> bool:
    return secrets.compare_digest(digest(key), stored)
