"""Pure mechanism, no broker or database: envelope, settings, identity, codes of problems."""

import subprocess
import sys
import time
import types

import jwt
import pytest
import sqlalchemy.exc
from pydantic import ValidationError

from crm_platform.events.consumer import ATTEMPT_HEADER, HandlerTimedOut, attempt_of
from crm_platform.events.envelope import CloudEvent
from crm_platform.failures import is_infrastructure_error
from crm_platform.identity import (
    LEEWAY_SECONDS,
    InternalTokenVerifier,
    InvalidToken,
    ServiceToken,
    mint_internal_token,
    verify_internal_token,
)
from crm_platform.settings import PlatformSettings

STRONG = "x" * 40


def test_envelope_round_trip_keeps_every_attribute() -> None:
    event = CloudEvent.new(
        service="customers",
        routing_key="customer.created",
        subject="42",
        data={"a": 1},
        actor="u1",
        correlation_id="c1",
    )
    again = CloudEvent.from_bytes(event.to_bytes())
    assert again == event
    assert again.type == "crm.customer.created"
    assert again.routing_key == "customer.created"
    assert again.source == "/crm/customers"
    assert again.specversion == "1.0"


def test_envelope_requires_an_aware_time() -> None:
    with pytest.raises(ValidationError):
        CloudEvent(source="/crm/x", type="crm.x.y", time="2024-01-01T00:00:00")


def test_production_refuses_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="CRM_INTERNAL_TOKEN_SECRET"):
        PlatformSettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ENVIRONMENT", "production")
    for name in ("INTERNAL_TOKEN_SECRET", "JWT_SECRET", "DATA_KEY"):
        monkeypatch.setenv(f"CRM_{name}", STRONG + name)
    assert PlatformSettings().environment == "production"


def test_development_accepts_defaults() -> None:
    assert PlatformSettings(environment="development").internal_token_secret


def test_internal_token_round_trip() -> None:
    token = mint_internal_token(STRONG, subject="u1", roles=["sales_rep"], name="Li Lei")
    identity = verify_internal_token(STRONG, token)
    assert identity.subject == "u1"
    assert identity.roles == {"sales_rep"}
    assert identity.name == "Li Lei"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        mint_internal_token("another-secret-" + STRONG, subject="u1", roles=[]),
        jwt.encode({"sub": "u1", "exp": int(time.time()) + 60}, STRONG, algorithm="HS256"),
        jwt.encode(
            {"sub": "u1", "iss": "crm-gateway", "aud": "crm-internal", "iat": 0, "exp": 10},
            STRONG,
            algorithm="HS256",
        ),
        jwt.encode({"sub": "u1"}, None, algorithm="none"),
    ],
    ids=["garbage", "wrong-secret", "no-audience", "expired", "unsigned"],
)
def test_invalid_internal_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_internal_token(STRONG, token)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    clock = FakeClock()
    verifier = InternalTokenVerifier(STRONG, clock=clock)
    token = mint_internal_token(STRONG, subject="u1", roles=["sales_rep"], ttl_seconds=60)
    assert verifier.verify(token).subject == "u1"
    clock.now += 60 + LEEWAY_SECONDS - 1
    assert verifier.verify(token).roles == {"sales_rep"}  # still inside the leeway
    clock.now += 2
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)
    with pytest.raises(InvalidToken, match="expired"):  # and stays refused
        verifier.verify(token)


def test_the_verifier_remembers_only_valid_tokens_and_at_most_its_capacity() -> None:
    verifier = InternalTokenVerifier(STRONG, capacity=2)
    forged = mint_internal_token("another-secret-" + STRONG, subject="u1", roles=[])
    for _ in range(2):  # a refused token is checked (and refused) again, never remembered
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    tokens = [mint_internal_token(STRONG, subject=f"u{i}", roles=[]) for i in range(3)]
    assert [verifier.verify(t).subject for t in tokens] == ["u0", "u1", "u2"]
    assert list(verifier._verified) == tokens[1:]  # the least recently used one went
    assert verifier.verify(tokens[0]).subject == "u0"  # verified again, not lost


def test_a_service_token_is_reused_for_half_its_lifetime_then_renewed() -> None:
    clock = FakeClock()
    source = ServiceToken(
        STRONG, subject="service:gateway", roles=["system"], ttl_seconds=60, clock=clock
    )
    first = source.current()
    clock.now += 29
    assert source.current() == first
    clock.now += 1
    renewed = source.current()
    assert renewed != first
    claims = jwt.decode(renewed, options={"verify_signature": False})
    assert (claims["sub"], claims["roles"], claims["exp"] - claims["iat"]) == (
        "service:gateway",
        ["system"],
        60,
    )
    assert verify_internal_token(STRONG, renewed).subject == "service:gateway"


def test_only_a_serving_process_freezes_its_startup_objects() -> None:
    """``serve`` freezes what startup built and raises the thresholds; tests keep defaults."""
    probe = (
        "import gc; from crm_platform import runtime; "
        "runtime.freeze_startup_objects(); before = (gc.get_freeze_count(), gc.get_threshold()); "
        "runtime.tune_garbage_collector_after_startup(); runtime.freeze_startup_objects(); "
        "print(before[0] == 0, before[1] == (700, 10, 10), gc.get_freeze_count() > 1000, "
        "gc.get_threshold() == runtime.GC_THRESHOLDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True", "True", "True"]


# ------------------------------------------------------------ consumer failure classification


def _caused_by(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


class _Sqlstate(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "infrastructure"),
    [
        (ConnectionRefusedError("refused"), True),
        (ConnectionResetError("reset"), True),
        (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), True),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")), True),
        (sqlalchemy.exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")), True),
        (_caused_by(RuntimeError("wrapped"), OSError("unreachable")), True),
        (_Sqlstate("08006"), True),  # connection failure
        (_Sqlstate("57P01"), True),  # admin shutdown
        (_Sqlstate("53300"), True),  # too many connections
        (_Sqlstate("40001"), True),  # serialization failure: succeeds when tried again
        (_Sqlstate("23505"), False),  # unique violation: the handler's
        (_Sqlstate("P0001"), False),  # raise_exception in a trigger: the handler's
        (sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (ValueError("bad payload"), False),
        (_caused_by(HandlerTimedOut("too slow"), TimeoutError()), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_only_infrastructure_failures_spare_an_events_attempts(
    error: BaseException, infrastructure: bool
) -> None:
    assert is_infrastructure_error(error) is infrastructure


@pytest.mark.parametrize(
    ("header", "attempt"),
    [(None, 1), (3, 3), ("4", 4), (b"2", 2), ("abc", 1), ("", 1), (0, 1), (-2, 1), (2.0, 2)],
)
def test_a_garbled_attempt_header_counts_as_a_first_attempt(header, attempt: int) -> None:
    headers = {} if header is None else {ATTEMPT_HEADER: header}
    message = types.SimpleNamespace(headers=headers, message_id="m")
    assert attempt_of(message) == attempt  # type: ignore[arg-type]
