"""Work to do if the caller's transaction rolls back instead of committing.

A use case that changes something outside the database (the broker's definitions) before its
transaction commits registers how to undo that change; the callbacks run when the outermost
transaction rolls back (a failing commit included) and are forgotten when it commits. They run
synchronously inside SQLAlchemy's event, so a callback only schedules its work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

_CALLBACKS = "crm_notifier_on_rollback"


def on_rollback(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Call ``callback`` if the transaction ``session`` is in rolls back."""
    session.info.setdefault(_CALLBACKS, []).append(callback)


@event.listens_for(Session, "after_commit")
def _forget(session: Session) -> None:
    session.info.pop(_CALLBACKS, None)


@event.listens_for(Session, "after_soft_rollback")
def _run(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint: the transaction goes on
        return
    for callback in session.info.pop(_CALLBACKS, []):
        try:
            callback()
        except Exception:
            log.exception("a rollback callback failed")
