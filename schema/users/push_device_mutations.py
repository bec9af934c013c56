"""pushDeviceRegister, pushDeviceUnregister: the devices the viewer receives push notifications on."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from persistence.enums import PushPlatform
from resolvers import push_devices as resolvers
from resolvers.context import RequestContext
from resolvers.mutations import MutationResult
from schema.core.ids import encode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.users.push_devices import PushDevice

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `pushDeviceRegister`.")
class PushDeviceRegisterError(MutationError):
    pass


@strawberry.type(description="An expected failure of `pushDeviceUnregister`.")
class PushDeviceUnregisterError(MutationError):
    pass


@strawberry.input(description="What `pushDeviceRegister` takes.")
class PushDeviceRegisterInput:
    token: str = strawberry.field(
        description=f"The platform's token for the device: {resolvers.TOKEN_MIN} to {resolvers.TOKEN_MAX} "
        "characters of A-Z, a-z, 0-9, '_', '-', ':', '.'."
    )
    platform: PushPlatform = strawberry.field(description="The device's platform.")


@strawberry.input(description="What `pushDeviceUnregister` takes.")
class PushDeviceUnregisterInput:
    token: str = strawberry.field(description="The token the device was registered with.")


@strawberry.type(description="What `pushDeviceRegister` answers.")
class PushDeviceRegisterPayload:
    errors: list[PushDeviceRegisterError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The device as registered; null on errors.")
    def device(self) -> PushDevice | None:
        result = self._result
        if not isinstance(result, resolvers.RegisteredDevice) or result.object_id is None:
            return None
        if result.created_at is None or result.last_seen_at is None:
            return None
        return PushDevice(
            id=strawberry.ID(encode_id("PushDevice", result.object_id)),
            platform=result.platform,
            created_at=result.created_at,
            last_seen_at=result.last_seen_at,
        )


@strawberry.type(description="What `pushDeviceUnregister` answers.")
class PushDeviceUnregisterPayload:
    errors: list[PushDeviceUnregisterError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The device that no longer receives pushes.")
    def device_id(self) -> strawberry.ID | None:
        if self._result.errors or self._result.object_id is None:
            return None
        return strawberry.ID(encode_id("PushDevice", self._result.object_id))


@strawberry.type
class PushDeviceMutation:
    @strawberry.mutation(
        description="Registers a device of yours for push notifications. Again for the same token: "
        "refreshes it. A token registered by someone else moves to you (the device changed hands)."
    )
    async def push_device_register(
        self,
        info: Ctx,
        input: MutationInput[PushDeviceRegisterInput],  # noqa: A002
    ) -> PushDeviceRegisterPayload:
        info.context.require_principal()
        result = await resolvers.register_device(info.context, input.token, PushPlatform(input.platform))
        return PushDeviceRegisterPayload(errors=errors_as(PushDeviceRegisterError, result), _result=result)

    @strawberry.mutation(
        description="Stops pushes to a device of yours. Another user's token, or an unknown one, is "
        "NOT_FOUND and nothing changes."
    )
    async def push_device_unregister(
        self,
        info: Ctx,
        input: MutationInput[PushDeviceUnregisterInput],  # noqa: A002
    ) -> PushDeviceUnregisterPayload:
        info.context.require_principal()
        result = await resolvers.unregister_device(info.context, input.token)
        return PushDeviceUnregisterPayload(
            errors=errors_as(PushDeviceUnregisterError, result), _result=result
        )
