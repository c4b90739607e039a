"""Signed Clerk webhooks: verify a Svix-signed delivery, then apply its event once.

Needs the `webhooks` extra (`pip install 'learnstore[webhooks]'`, the `svix` package).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from learnstore.errors import InvalidValue, SignatureInvalid
from learnstore.queries.models import User
from learnstore.store_async import AsyncStore

__all__ = ["CLERK_USER_EVENTS", "Delivery", "apply_clerk_webhook", "verify_clerk_webhook"]

#: The Clerk events `users.apply_clerk_event` applies; a verified delivery of another type is
#: acknowledged and ignored (answering it with an error would only make Svix retry it for days).
CLERK_USER_EVENTS: Final = frozenset({"user.created", "user.updated", "user.deleted"})

_HEADERS: Final = ("svix-id", "svix-timestamp", "svix-signature")


class Delivery(BaseModel):
    """What became of one verified delivery."""

    model_config = ConfigDict(frozen=True)

    svix_id: str
    event_type: str
    #: True when this call applied the event; False for a replay (the same svix-id, applied
    #: before), for an event type learnstore does not apply, and for a late user.created /
    #: user.updated of an erased identity.
    applied: bool
    #: True when an earlier delivery with this svix-id was applied already.
    replay: bool = False
    #: True when the user is erased: after user.deleted, and for a late user.created /
    #: user.updated of an erased identity (not applied: an erased user stays erased).
    erased: bool = False
    #: The user as stored afterwards, for user.created / user.updated applied now.
    user: User | None = None


def verify_clerk_webhook(body: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event of a delivery whose Svix signature verifies, parsed; `SignatureInvalid` otherwise.

    `body` must be the raw request body, byte for byte as received (the signature covers it);
    `headers` the request's headers (any case); `secret` the endpoint's signing secret (`whsec_...`).
    A timestamp more than five minutes from now is refused (Svix's tolerance): a replayed capture
    of an old delivery does not verify.
    """
    try:
        from svix.webhooks import Webhook, WebhookVerificationError
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        raise ImportError(
            "learnstore.webhooks needs the svix package: pip install 'learnstore[webhooks]'"
        ) from exc

    lowered = {key.lower(): value for key, value in headers.items()}
    missing = [name for name in _HEADERS if not lowered.get(name)]
    if missing:
        raise SignatureInvalid(f"webhook refused: missing header {', '.join(missing)}", field=missing[0])
    try:
        verifier = Webhook(secret)
    except Exception as exc:  # svix raises its own error for an empty secret, binascii's for bad base64
        raise InvalidValue(f"secret: not a Svix signing secret ({exc})", field="secret") from exc
    try:
        verifier.verify(body, {name: lowered[name] for name in _HEADERS})
    except (WebhookVerificationError, ValueError) as exc:
        # ValueError: a signature or body that is not even well-formed (bad base64, not UTF-8)
        raise SignatureInvalid(f"webhook refused: {exc or 'signature does not verify'}") from exc
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise InvalidValue(f"body: not JSON ({exc})", field="body") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise InvalidValue("body: a Clerk event is a JSON object with a string type", field="body")
    return event


async def apply_clerk_webhook(
    store: AsyncStore, body: bytes | str, headers: Mapping[str, str], secret: str
) -> Delivery:
    """Verify a Clerk delivery and apply its event once, with `store.users.apply_clerk_event`.

    Nothing is written unless the signature verifies. The delivery is recorded in the transaction
    that applies it, so a replay (the same svix-id, e.g. Svix retrying after a timeout) is applied
    once, concurrent replays included, and a failed apply records nothing: the retry applies it.
    """
    event = verify_clerk_webhook(body, headers, secret)
    svix_id = {key.lower(): value for key, value in headers.items()}["svix-id"]
    event_type: str = event["type"]
    if event_type not in CLERK_USER_EVENTS:
        return Delivery(svix_id=svix_id, event_type=event_type, applied=False)
    async with store.transaction() as tx:
        if await tx.deliveries.record(svix_id, event_type) is None:
            return Delivery(svix_id=svix_id, event_type=event_type, applied=False, replay=True)
        sync = await tx.users.sync_clerk_event(event)
    # A create or update of an erased identity was not applied; a delete always is (it is idempotent).
    applied = event_type == "user.deleted" or not sync.erased
    return Delivery(
        svix_id=svix_id, event_type=event_type, applied=applied, erased=sync.erased, user=sync.user
    )
