"""The viewer's push devices: listing them, ``pushDeviceRegister`` and ``pushDeviceUnregister``.

Registering is one upsert on the token (persistence/queries/push_devices.py): the caller's own token
is refreshed (``last_seen_at``), someone else's moves to the caller (a device that changed hands), a
new one is added. Unregistering deletes only the caller's own device: another's token, or an unknown
one, is NOT_FOUND and nothing changes (the unit of work rolls back). Each write records an event like
every mutation (it carries the Idempotency-Key); the token itself is never put in an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from persistence.enums import PushPlatform
from persistence.queries import push_devices as queries
from persistence.queries.records import push_device_record
from persistence.queries.rows import AnyRow
from persistence.records import PushDeviceRecord
from resolvers.context import RequestContext
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.writes import Write, run_write

# APNs tokens are 64 hex digits, FCM's about 160 characters of [A-Za-z0-9_:-]; web push gateways
# hand out opaque ids of the same alphabet.
TOKEN_MIN, TOKEN_MAX = 16, 255
_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]+")
REGISTERED, UNREGISTERED = "push_device.registered", "push_device.unregistered"


def check_token(token: str) -> list[FieldError]:
    if not TOKEN_MIN <= len(token) <= TOKEN_MAX or not _TOKEN.fullmatch(token):
        message = f"a token has {TOKEN_MIN} to {TOKEN_MAX} characters of A-Z, a-z, 0-9, '_', '-', ':', '.'"
        return [FieldError("token", ErrorCode.INVALID, message)]
    return []


@dataclass(frozen=True)
class RegisteredDevice(MutationResult):
    """The caller's device as registered (``object_id`` is its id)."""

    platform: PushPlatform = PushPlatform.IOS
    created_at: datetime | None = None
    last_seen_at: datetime | None = None


def _device(row: AnyRow) -> RegisteredDevice:
    return RegisteredDevice(
        int(row.id),
        platform=PushPlatform(row.platform),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


def _replayed_registration(event: AnyRow) -> MutationResult:
    payload = event.payload
    return RegisteredDevice(
        int(payload["device_id"]),
        platform=PushPlatform(payload["platform"]),
        created_at=datetime.fromisoformat(payload["created_at"]),
        last_seen_at=datetime.fromisoformat(payload["last_seen_at"]),
    )


async def devices(ctx: RequestContext) -> list[PushDeviceRecord]:
    """The viewer's own devices, oldest first."""
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        rows = await queries.devices_of(conn, scope.user_id)
    return [push_device_record(row) for row in rows]


async def register_device(ctx: RequestContext, token: str, platform: PushPlatform) -> MutationResult:
    errors = check_token(token)
    if errors:
        return MutationResult(None, errors)
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        row = await queries.register_device(write.conn, scope, token, platform, write.now)
        payload = {
            "device_id": row.id,
            "platform": platform.value,
            "created_at": row.created_at.isoformat(),
            "last_seen_at": row.last_seen_at.isoformat(),
        }
        await write.record(REGISTERED, project_id=None, payload=payload)
        return _device(row)

    return await run_write(ctx, body, on_replay=_replayed_registration)


class _NotFound(Exception):
    """Raised inside the unit of work so that nothing of it commits."""


def _replayed_unregistration(event: AnyRow) -> MutationResult:
    return MutationResult(int(event.payload["device_id"]))


async def unregister_device(ctx: RequestContext, token: str) -> MutationResult:
    not_found = MutationResult.failed("token", ErrorCode.NOT_FOUND, "you have no device with this token")
    if check_token(token):
        return not_found
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        device_id = await queries.unregister_device(write.conn, scope, token)
        if device_id is None:
            raise _NotFound
        await write.record(UNREGISTERED, project_id=None, payload={"device_id": device_id})
        return MutationResult(device_id)

    try:
        return await run_write(ctx, body, on_replay=_replayed_unregistration)
    except _NotFound:
        return not_found
