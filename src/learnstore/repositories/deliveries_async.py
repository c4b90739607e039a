"""The deliveries domain: the ledger that applies each signed webhook delivery once."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import register_messages
from learnstore.queries.deliveries import AsyncQuerier
from learnstore.queries.models import WebhookDelivery

__all__ = ["AsyncDeliveriesRepository", "WebhookDelivery"]

register_messages(
    {
        "webhook_deliveries_svix_id_format": "svix-id must not be blank and be at most 200 characters",
        "webhook_deliveries_event_type_format": "event type must not be blank and be at most 200 characters",
    }
)

_Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    svix_id: _Text
    event_type: _Text


class AsyncDeliveriesRepository:
    """Recorded webhook deliveries; `learnstore.webhooks` records one in the transaction that applies it."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def record(self, svix_id: str, event_type: str) -> WebhookDelivery | None:
        """Record a delivery; None if this svix-id was recorded before (a replay: apply nothing)."""
        delivery = validated(_Delivery, {"svix_id": svix_id, "event_type": event_type}, "delivery")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).record_webhook_delivery(
                svix_id=delivery.svix_id, event_type=delivery.event_type
            )

    async def get_or_none(self, svix_id: str) -> WebhookDelivery | None:
        """The recorded delivery with this svix-id, if any."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_webhook_delivery(svix_id=svix_id)
