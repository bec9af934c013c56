"""Who sends a request over HTTP: a user's `Authorization: Bearer` token or a third party's `X-Api-Key`."""

from __future__ import annotations

from starlette.requests import Request

from resolvers.api_keys import authenticate_api_key
from resolvers.auth import authenticate_bearer
from resolvers.context import Services
from resolvers.errors import Unauthenticated
from resolvers.principal import Principal
from schema.core.request import RequestError

API_KEY_HEADER = "x-api-key"


async def bearer_principal(services: Services, request: Request) -> Principal | None:
    """The request's `Authorization: Bearer` principal; None without the header, 401 for a bad one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RequestError(401, "UNAUTHENTICATED", "use `Authorization: Bearer <access token>`")
    try:
        return await authenticate_bearer(services, token.strip())
    except Unauthenticated as error:
        raise RequestError(
            401, "UNAUTHENTICATED", error.message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from error


async def request_principal(services: Services, request: Request) -> Principal | None:
    """The bearer's or the API key's principal; both at once is refused (which one would act?)."""
    key = request.headers.get(API_KEY_HEADER)
    if key is None:
        return await bearer_principal(services, request)
    if "authorization" in request.headers:
        raise RequestError(400, "BAD_USER_INPUT", "send either `Authorization` or `X-Api-Key`, not both")
    try:
        return await authenticate_api_key(services, key.strip())
    except Unauthenticated as error:
        raise RequestError(401, "UNAUTHENTICATED", error.message, {"WWW-Authenticate": "ApiKey"}) from error
