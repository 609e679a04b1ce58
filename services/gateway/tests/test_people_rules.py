"""The pure rules of signing in: the password policy, access-token verification, the shape
of API keys, the scopes, the login throttle. No database, no network."""

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from crm_gateway.domain import tokens
from crm_gateway.domain.passwords import Passwords, password_problems
from crm_gateway.domain.roles import unknown_roles
from crm_gateway.domain.routes import SCOPES, unknown_scopes
from crm_gateway.domain.throttle import LoginThrottle, LoginThrottled

SECRET = "rules-test-jwt-secret-0123456789-abcdefghij"


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("short1!", "li.na", "at least 10"),
        ("li.na.2026x", None, None),
        ("Li.Na.Sales", "li.na.sales", "not be the username"),
        ("qwertyuiop", "li.na", "too common"),
        ("Password123", "li.na", "too common"),
        ("x" * 257, "li.na", "at most 256"),
        ("绿水青山就是金山银山", "li.na", None),  # ten characters, not ASCII: fine
        ("correct horse battery", "li.na", None),
    ],
)
def test_password_policy(password: str, username: str | None, problem: str | None) -> None:
    problems = password_problems(password, username=username)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def _mint(**changes) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    claims = {
        "iss": tokens.ISSUER,
        "aud": tokens.AUDIENCE,
        "sub": "u-1",
        "sid": "s-1",
        "iat": now,
        "exp": now + 60,
        "jti": "j-1",
    }
    secret = changes.pop("secret", SECRET)
    algorithm = changes.pop("algorithm", "HS256")
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return jwt.encode(claims, secret, algorithm=algorithm)


def _alg_none() -> str:
    token = _mint()
    _, payload, _ = token.split(".")
    none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    return f"{none_header}.{payload}."


def _tampered() -> str:
    header, payload, signature = _mint().split(".")
    other = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"u-1"', b'"u-2"')
    ).decode()
    return f"{header}.{other}.{signature}"


@pytest.mark.parametrize(
    "token",
    [
        _mint(exp=int(time.time()) - 60),
        _mint(exp=None),
        _tampered(),
        _alg_none(),
        _mint(secret="another-secret-0123456789-abcdefghijklmnop"),
        _mint(aud="crm-internal"),
        _mint(iss="someone-else"),
        _mint(sid=None),
        _mint(sub=None),
        _mint(algorithm="HS512"),
        "not.a.token",
        "",
    ],
    ids=[
        "expired",
        "no exp",
        "tampered",
        "alg none",
        "wrong secret",
        "internal audience",
        "wrong issuer",
        "no session",
        "no subject",
        "HS512",
        "garbage",
        "empty",
    ],
)
def test_access_tokens_that_are_refused(token: str) -> None:
    with pytest.raises(tokens.TokenRefused):
        tokens.verify_access_token(SECRET, token)
    with pytest.raises(tokens.TokenRefused):  # and by the verifier that remembers
        tokens.AccessTokenVerifier(SECRET).verify(token)


def test_a_remembered_token_expires_by_the_same_rule() -> None:
    now = datetime.now(UTC)
    token, expires = tokens.mint_access_token(
        SECRET, user_id="u-9", session_id="s-9", now=now, ttl_seconds=900
    )
    verifier = tokens.AccessTokenVerifier(SECRET)
    assert verifier.verify(token).user_id == "u-9"
    assert verifier.verify(token, now=expires + tokens.LEEWAY_SECONDS - 1).user_id == "u-9"
    with pytest.raises(tokens.TokenRefused):  # past exp + leeway: checked again, refused
        verifier.verify(token, now=expires + tokens.LEEWAY_SECONDS + 1)


def test_a_minted_access_token_verifies() -> None:
    token, expires = tokens.mint_access_token(
        SECRET, user_id="u-9", session_id="s-9", now=datetime.now(UTC), ttl_seconds=900
    )
    claims = tokens.verify_access_token(SECRET, token)
    assert (claims.user_id, claims.session_id, claims.expires_at) == ("u-9", "s-9", expires)


def test_an_access_token_is_no_internal_token_and_the_other_way_round() -> None:
    from crm_platform.identity import InternalTokenVerifier, InvalidToken, mint_internal_token

    internal = mint_internal_token(SECRET, subject="u-1", roles=["admin"])
    with pytest.raises(tokens.TokenRefused):
        tokens.verify_access_token(SECRET, internal)
    access, _ = tokens.mint_access_token(
        SECRET, user_id="u-1", session_id="s", now=datetime.now(UTC), ttl_seconds=60
    )
    with pytest.raises(InvalidToken):
        InternalTokenVerifier(SECRET).verify(access)


def test_api_keys_have_a_lookup_prefix_and_are_stored_as_a_digest() -> None:
    key, prefix = tokens.new_api_key()
    assert key.startswith(prefix + "_") and prefix.startswith("crm_")
    assert tokens.api_key_prefix(key) == prefix
    assert tokens.same_digest(key, tokens.digest(key))
    assert not tokens.same_digest(key + "x", tokens.digest(key))


@pytest.mark.parametrize(
    "key",
    ["crm_", "crm_short_x", "crm_0123456789ab_", "crm_zzzzzzzzzzzz_abc", "xyz_0123456789ab_a"],
)
def test_strings_that_are_not_api_keys(key: str) -> None:
    assert tokens.api_key_prefix(key) is None


def test_roles_and_scopes_are_checked_against_the_known_lists() -> None:
    assert unknown_roles(["admin", "viewer"]) == []
    assert unknown_roles(["root"]) == ["root"]
    assert {"customers:read", "tickets:write", "webhooks:manage"} <= SCOPES
    assert unknown_scopes(["customers:delete", "customers:read"]) == ["customers:delete"]


def test_the_throttle_counts_failures_per_username_and_per_address() -> None:
    throttle = LoginThrottle(max_per_username=2, max_per_ip=3, window_seconds=60)
    throttle.failed("Li.Na", "10.0.0.1")
    throttle.failed("li.na", "10.0.0.2")
    with pytest.raises(LoginThrottled) as refused:
        throttle.check("LI.NA", "10.0.0.3")
    assert 1 <= refused.value.retry_after <= 60
    throttle.check("wang.wei", "10.0.0.3")
    for n in range(3):
        throttle.failed(f"guess{n}", "10.0.0.9")
    with pytest.raises(LoginThrottled):
        throttle.check("wang.wei", "10.0.0.9")


def test_a_success_forgets_the_usernames_failures() -> None:
    throttle = LoginThrottle(max_per_username=2, window_seconds=60)
    throttle.failed("li.na", None)
    throttle.succeeded("li.na")
    throttle.failed("li.na", None)
    throttle.check("li.na", None)


async def test_the_dummy_hash_costs_what_a_real_one_does() -> None:
    passwords = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
    stored = await passwords.hash("Spring-bamboo-42")
    assert await passwords.verify(stored, "Spring-bamboo-42")
    assert not await passwords.verify(stored, "Spring-bamboo-43")
    assert not await passwords.verify(None, "Spring-bamboo-42")
    assert stored.split("$")[3] == passwords.dummy_hash.split("$")[3]  # same parameters
    assert Passwords(time_cost=2, memory_kib=1024, parallelism=1).needs_rehash(stored)


def test_expiry_is_in_the_future() -> None:
    _, expires = tokens.mint_access_token(
        SECRET, user_id="u", session_id="s", now=datetime.now(UTC), ttl_seconds=900
    )
    assert expires > (datetime.now(UTC) + timedelta(seconds=890)).timestamp()


PRODUCTION = {
    "environment": "production",
    "internal_token_secret": "prod-internal-secret-0123456789-abcdefghijkl",
    "jwt_secret": "prod-jwt-secret-0123456789-abcdefghijklmnopq",
    "data_key": "cHJvZC1kYXRhLWtleS0wMTIzNDU2Nzg5MDEyMzQ1Njc=",
}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({}, "development CRM_ADMIN_PASSWORD"),
        ({"admin_password": "Strong-admin-pw-77", "jwt_secret": None}, "CRM_JWT_SECRET"),
        (
            {
                "admin_password": "Strong-admin-pw-77",
                "jwt_secret": PRODUCTION["internal_token_secret"],
            },
            "must differ",
        ),
    ],
    ids=["default admin password", "default jwt secret", "jwt secret = internal secret"],
)
def test_production_refuses_development_identity_settings(overrides, refusal) -> None:
    from pydantic import ValidationError

    from crm_gateway.settings import GatewaySettings

    values = {**PRODUCTION, **overrides}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ValidationError, match=refusal):
        GatewaySettings(**values)
    GatewaySettings(**{**PRODUCTION, "admin_password": "Strong-admin-pw-77"})


async def test_production_refuses_a_weak_admin_password_at_start() -> None:
    from types import SimpleNamespace

    from crm_gateway.api.deps import start_identity
    from crm_gateway.settings import GatewaySettings

    settings = GatewaySettings(**{**PRODUCTION, "admin_password": "1234567890"})
    with pytest.raises(RuntimeError, match="too common"):
        await start_identity(SimpleNamespace(state=SimpleNamespace(settings=settings)))  # type: ignore[arg-type]
