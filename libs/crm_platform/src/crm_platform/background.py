"""Work a service runs on a timer in every one of its processes (engagement's reminder
scheduler, the service desk's SLA checker): started after the runtime, stopped before it.

A worker claims its rows with ``FOR UPDATE SKIP LOCKED`` and stages its events in the same
transaction, so any number of processes may run it side by side (docs/architecture.md, "Work
on a timer, in every process").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession


class BackgroundWorker(Protocol):
    async def run(self) -> None:
        """Rounds until ``stop()``; a failed round is logged and retried, never raised."""
        ...

    def stop(self) -> None: ...


# Builds the worker on the runtime's sessions, or None when the settings turn it off.
WorkerFactory = Callable[[async_sessionmaker[AsyncSession]], BackgroundWorker | None]


class BackgroundWorkers:
    def __init__(self, factories: Sequence[WorkerFactory]) -> None:
        self.factories = list(factories)
        self.running: list[tuple[BackgroundWorker, asyncio.Task[None]]] = []

    def start(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        for factory in self.factories:
            worker = factory(sessionmaker)
            if worker is not None:
                task = asyncio.create_task(worker.run(), name=type(worker).__name__)
                self.running.append((worker, task))

    async def stop(self) -> None:
        for worker, _ in self.running:
            worker.stop()
        await asyncio.gather(*(task for _, task in self.running))
        self.running.clear()
