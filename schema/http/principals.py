"""Who sends a request over HTTP: a user's `Authorization: Bearer` token or a third party's `X-Api-Key`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import Request

from resolvers.api_keys import authenticate_api_key
from resolvers.auth import authenticate_bearer, authenticate_claims, authenticate_read_claims
from resolvers.context import Services
from resolvers.errors import Unauthenticated
from resolvers.principal import Principal
from resolvers.tokens import AccessClaims, read_access_token
from schema.core.request import RequestError

API_KEY_HEADER = "x-api-key"


async def bearer_principal(services: Services, request: Request) -> Principal | None:
    """The request's `Authorization: Bearer` principal; None without the header, 401 for a bad one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    with _bearer_refusals():
        return await authenticate_bearer(services, _bearer_token(header))


def bearer_claims(services: Services, header: str) -> AccessClaims:
    """The claims of an `Authorization: Bearer` header's token, checked (signature, expiry, type)
    without its session; 401 as ``bearer_principal`` answers."""
    with _bearer_refusals():
        return read_access_token(services.settings, _bearer_token(header))


async def claims_principal(services: Services, claims: AccessClaims) -> Principal:
    """The principal of ``bearer_claims``: its session read as ``bearer_principal`` reads it."""
    with _bearer_refusals():
        return await authenticate_claims(services, claims)


async def prefetched_principal(services: Services, claims: AccessClaims, cached: bytes | None) -> Principal:
    """The principal of ``bearer_claims`` with its session's cache entry already read (None: a miss)."""
    with _bearer_refusals():
        return await authenticate_read_claims(services, claims, cached)


def _bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RequestError(401, "UNAUTHENTICATED", "use `Authorization: Bearer <access token>`")
    return token.strip()


@contextmanager
def _bearer_refusals() -> Iterator[None]:
    try:
        yield
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
