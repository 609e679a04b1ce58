"""Routes on partner webhook subscriptions and their deliveries: validate, delegate to the
domain, shape the answer."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm_notifier.api.dependencies import Context
from crm_notifier.api.webhook_schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliveryStatus,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
    SubscriptionWithSecretOut,
)
from crm_notifier.db.webhook_repository import DeliveryFilter
from crm_notifier.domain import webhooks
from crm_notifier.domain.webhook_commands import ReplayDelivery, UpdateSubscription
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, replay
from crm_platform.http.versions import IfMatch, expected_version
from crm_platform.idempotency import StoredResponse, run_once

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


def _answer(out: SubscriptionOut, status_code: int = 200) -> Response:
    return Response(
        out.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"etag": f'"{out.version}"'},
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionWithSecretOut)
async def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The answer holds the signing secret, this once. With an ``Idempotency-Key``, a repeat
    gets the first answer back without the secret (it is never stored in clear)."""
    result = await run_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: webhooks.create_subscription(session, ctx, body.command()),
        status_code=status.HTTP_201_CREATED,
        render=lambda created: SubscriptionWithSecretOut.of_created(
            created, show_secret=False
        ).model_dump(mode="json"),
    )
    if isinstance(result, StoredResponse):
        return replay(result)
    return _answer(SubscriptionWithSecretOut.of_created(result), status.HTTP_201_CREATED)


@router.get("", response_model=SubscriptionPage)
async def list_subscriptions(
    session: SessionDep, ctx: Context, page: Page = 1, page_size: PageSize = 20
) -> SubscriptionPage:
    found, total = await webhooks.list_subscriptions(session, ctx, page=page, page_size=page_size)
    return SubscriptionPage(
        items=[SubscriptionOut.of(s) for s in found], total=total, page=page, page_size=page_size
    )


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, ctx: Context
) -> Response:
    return _answer(
        SubscriptionOut.of(await webhooks.get_subscription(session, ctx, subscription_id))
    )


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionPatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = UpdateSubscription(
        subscription_id=subscription_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(SubscriptionOut.of(await webhooks.update_subscription(session, ctx, command)))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, ctx: Context
) -> Response:
    await webhooks.delete_subscription(session, ctx, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecretOut)
async def rotate_secret(subscription_id: uuid.UUID, session: SessionDep, ctx: Context) -> Response:
    """A new signing secret, in force at once and answered this once."""
    rotated = await webhooks.rotate_secret(session, ctx, subscription_id)
    return _answer(SubscriptionWithSecretOut.of_created(rotated))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> DeliveryPage:
    flt = DeliveryFilter(status=status.value if status else None, event_type=event_type)
    found, total = await webhooks.list_deliveries(
        session, ctx, subscription_id, flt, page=page, page_size=page_size
    )
    return DeliveryPage(
        items=[DeliveryOut.of(d) for d in found], total=total, page=page, page_size=page_size
    )


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
async def replay_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, ctx: Context
) -> DeliveryOut:
    """Send a delivered or failed delivery again (the same ``webhook-id``): pending now,
    with a fresh run of attempts."""
    command = ReplayDelivery(subscription_id=subscription_id, delivery_id=delivery_id)
    return DeliveryOut.of(await webhooks.replay_delivery(session, ctx, command))
