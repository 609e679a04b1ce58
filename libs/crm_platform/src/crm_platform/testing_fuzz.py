"""Property-based fuzzing of a service's OpenAPI document (schemathesis), for its own tests.

Every operation the document describes is called with generated requests, valid ones and
invalid ones, on the app running in-process with its real database and broker; any answer
of 500 or above is a failure (schemathesis's ``not_a_server_error`` check, the only one
applied: bad input must be a 4xx problem, whatever else the answer says). Path parameters
are also given realistic values (ids of records the test created), or nearly every call would
stop at a 404 before reaching the code worth testing.

Hypothesis runs in a worker thread and each request is sent on the test's own event loop,
where the app and its database pool live; ``httpx.ASGITransport`` with
``raise_app_exceptions=False`` turns an unhandled exception into the 500 a client would get.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode

BASE_URL = "http://fuzzed"


@dataclass(frozen=True)
class ServerError:
    operation: str
    status: int
    detail: str
    curl: str

    def __str__(self) -> str:
        return f"{self.operation} answered {self.status}: {self.detail}\n    {self.curl}"


@dataclass
class FuzzReport:
    operations: list[str] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0
    errors: list[ServerError] = field(default_factory=list)
    not_generated: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{len(self.operations)} operations, {self.calls} calls in {self.seconds:.1f} s, "
            f"{len(self.errors)} server errors"
        ]
        lines += [str(error) for error in self.errors]
        lines += [f"not generated: {op}: {why}" for op, why in self.not_generated.items()]
        return "\n".join(lines)


def _path_strategies(operation: Any, examples: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Strategies whose path parameters are realistic ids (from ``examples`` that name all
    of this operation's path parameters)."""
    names = {p.name for p in operation.path_parameters}
    if not names:
        return []
    combos = [
        {name: example[name] for name in names} for example in examples if names <= set(example)
    ]
    if not combos:
        return []
    return [
        st.sampled_from(combos).flatmap(
            lambda combo, mode=mode: operation.as_strategy(
                generation_mode=mode, path_parameters=combo
            )
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]


def _request_kwargs(case: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    """The case as ``httpx`` arguments (schemathesis serialises for ``requests``)."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    ours = {name.lower() for name in headers}
    generated = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in ours}
    kwargs["headers"] = {**generated, **headers}
    kwargs.pop("auth", None)
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    return kwargs


async def fuzz_openapi(
    app: Any,
    *,
    headers: Mapping[str, str],
    path_examples: Sequence[Mapping[str, Any]] = (),
    max_examples: int = 12,
    include: Callable[[str, str], bool] = lambda method, path: True,
) -> FuzzReport:
    """Fuzz every operation of ``app``'s ``/openapi.json`` (its lifespan must be running)
    that ``include(method, path)`` accepts; ``max_examples`` generated calls per operation,
    half of them with realistic path parameters where ``path_examples`` has them."""
    loop = asyncio.get_running_loop()
    report = FuzzReport()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        await _wait_until_ready(client)
        document = (await client.get("/openapi.json", headers=dict(headers))).json()
        schema = schemathesis.openapi.from_dict(document)
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if include(result.ok().method.upper(), result.ok().path)
        ]

        def send(case: Any) -> None:
            try:
                kwargs = _request_kwargs(case, headers)
                request = client.build_request(**kwargs)
            except (ValueError, TypeError, UnicodeError, httpx.HTTPError):
                return  # not even a request a client could send (a header httpx refuses)
            future = asyncio.run_coroutine_threadsafe(client.send(request), loop)
            response = future.result(timeout=60)
            report.calls += 1
            if response.status_code >= 500:
                label = f"{case.operation.method.upper()} {case.operation.path}"
                if any(e.operation == label for e in report.errors):
                    return  # one example per operation is enough to find the fault
                report.errors.append(
                    ServerError(label, response.status_code, response.text[:300], _curl(case))
                )

        def fuzz(operation: Any) -> None:
            strategies = [
                operation.as_strategy(generation_mode=mode)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            ] + _path_strategies(operation, path_examples)

            @settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                derandomize=True,  # the same calls every run: a CI failure reproduces locally
            )
            @given(st.one_of(strategies))
            def run(case: Any) -> None:
                send(case)

            run()

        def fuzz_all() -> None:
            for operation in operations:
                label = f"{operation.method.upper()} {operation.path}"
                report.operations.append(label)
                try:
                    fuzz(operation)
                except (HypothesisException, schemathesis.errors.SchemathesisError) as exc:
                    report.not_generated[label] = f"{type(exc).__name__}: {exc}"[:200]

        started = time.perf_counter()
        await asyncio.to_thread(fuzz_all)
        report.seconds = time.perf_counter() - started
    return report


async def _wait_until_ready(client: httpx.AsyncClient, timeout: float = 30.0) -> None:
    """Wait for ``/readyz``: until the topology is declared it answers a documented 503,
    which the fuzz would otherwise count as a server error (it did, once, in CI)."""
    deadline = time.monotonic() + timeout
    while (response := await client.get("/readyz")).status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never became ready: {response.text[:300]}")
        await asyncio.sleep(0.05)


def _curl(case: Any) -> str:
    try:
        return str(case.as_curl_command(base_url=BASE_URL))
    except Exception as exc:
        return f"(no curl command: {exc!r})"
