"""Which document a request runs: its text, an automatic persisted query's hash, or a trusted document.

- ``documentId`` names a trusted document (the registry of resolvers/trusted_documents.py).
- ``extensions.persistedQuery.sha256Hash`` is Apollo's APQ: the hash alone runs a trusted document or
  a query stored earlier; a miss answers ``PersistedQueryNotFound`` and the client sends the hash with
  the text, which is checked against the hash and stored in Redis for the next hashed GET.
- Plain text runs as it is; when its hash is a trusted document's it counts as that document.

A document that is not trusted meets the mode: ``off`` runs it, ``log`` runs it and counts it,
``enforce`` refuses it (platform operators excepted). An API key runs trusted documents only, in every
mode: a third party's integration is exactly the client an allowlist is for.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from persistence.cache import Cache
from persistence.metrics import UNTRUSTED_DOCUMENTS
from persistence.settings import Settings
from resolvers.principal import Principal
from resolvers.trusted_documents import TrustedDocument, TrustedDocuments, sha256_of
from schema.core.request import GraphQLParams, RequestError

log = logging.getLogger("taskql.persisted")

APQ_CACHE = "apq"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# How many distinct untrusted documents this process names in its log (each once); the counter counts all.
_LOGGED_LIMIT = 10_000


@dataclass(frozen=True)
class ResolvedDocument:
    text: str
    # The registry's entry when the text is a trusted document (its id labels the operation).
    trusted: TrustedDocument | None


def _apq_key(sha256: str) -> str:
    return f"apq:{sha256}"


def persisted_hash(params: GraphQLParams) -> str | None:
    persisted = (params.extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestError(
            400, "BAD_USER_INPUT", "`extensions.persistedQuery` must be {version: 1, sha256Hash}"
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise RequestError(400, "BAD_USER_INPUT", "`sha256Hash` must be 64 lower-case hex digits")
    return sha256


class PersistedDocuments:
    def __init__(self, settings: Settings, cache: Cache, registry: TrustedDocuments) -> None:
        self.settings = settings
        self.cache = cache
        self.registry = registry
        self._logged: set[str] = set()

    async def resolve(
        self, params: GraphQLParams, principal: Principal | None, not_found_status: int
    ) -> ResolvedDocument:
        if params.document_id is not None:
            return await self._by_document_id(params, not_found_status)
        sha256 = persisted_hash(params)
        if sha256 is None:
            assert params.query is not None  # noqa: S101 - transport.py refuses a request naming nothing
            return self._admit(params.query, principal, await self._trusted_text(params.query, principal))
        if params.query is not None:
            return await self._register_apq(params.query, sha256, principal)
        trusted = self.registry.get(sha256=sha256)
        if trusted is not None:
            return ResolvedDocument(trusted.body, trusted)
        stored: Any = await self.cache.get_json(APQ_CACHE, _apq_key(sha256))
        if isinstance(stored, str):
            return self._admit(stored, principal, None)
        trusted = await self.registry.fetch(sha256=sha256)  # registered since this process last looked
        if trusted is not None:
            return ResolvedDocument(trusted.body, trusted)
        # The exact message and code Apollo Client's persisted-query link answers with the full text.
        raise RequestError(not_found_status, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")

    def known_trusted_text(self, params: GraphQLParams) -> str | None:
        """The text of the trusted document a request names by id or by hash alone, when this
        process already holds it (no I/O); None otherwise, or when the request is malformed (then
        ``resolve`` answers it)."""
        if params.document_id is not None:
            trusted = self.registry.get(document_id=params.document_id)
            if trusted is None or (params.query is not None and params.query != trusted.body):
                return None
            return trusted.body
        if params.query is not None:
            return None
        try:
            sha256 = persisted_hash(params)
        except RequestError:
            return None
        trusted = None if sha256 is None else self.registry.get(sha256=sha256)
        return None if trusted is None else trusted.body

    async def _by_document_id(self, params: GraphQLParams, not_found_status: int) -> ResolvedDocument:
        assert params.document_id is not None  # noqa: S101 - the caller checked
        trusted = self.registry.get(document_id=params.document_id) or await self.registry.fetch(
            document_id=params.document_id
        )
        if trusted is None:
            raise RequestError(
                not_found_status,
                "PERSISTED_QUERY_NOT_FOUND",
                f"no trusted document has the id {params.document_id!r}",
            )
        if params.query is not None and params.query != trusted.body:
            raise RequestError(400, "BAD_USER_INPUT", "`query` differs from the trusted document's text")
        return ResolvedDocument(trusted.body, trusted)

    async def _register_apq(self, text: str, sha256: str, principal: Principal | None) -> ResolvedDocument:
        if sha256_of(text) != sha256:
            raise RequestError(400, "BAD_USER_INPUT", "provided sha does not match query")
        resolved = self._admit(text, principal, await self._trusted_text(text, principal))
        if resolved.trusted is None:
            await self.cache.fill_json(_apq_key(sha256), text, self.settings.apq_ttl_seconds)
        return resolved

    async def _trusted_text(self, text: str, principal: Principal | None) -> TrustedDocument | None:
        """The text's trusted document: from memory, or (where being untrusted would refuse it) from
        the database, in case another process registered it since this one last looked."""
        sha256 = sha256_of(text)
        trusted = self.registry.get(sha256=sha256)
        if trusted is None and self._refuses_untrusted(principal):
            trusted = await self.registry.fetch(sha256=sha256)
        return trusted

    def _refuses_untrusted(self, principal: Principal | None) -> bool:
        if principal is not None and principal.is_api_key:
            return True
        operator = principal is not None and principal.is_operator
        return self.settings.trusted_documents_mode == "enforce" and not operator

    def _admit(
        self, text: str, principal: Principal | None, trusted: TrustedDocument | None
    ) -> ResolvedDocument:
        if trusted is not None:
            return ResolvedDocument(text, trusted)
        if self._refuses_untrusted(principal):
            UNTRUSTED_DOCUMENTS.labels("refused").inc()
            who = "an API key" if principal is not None and principal.is_api_key else "this server"
            raise RequestError(
                403, "PERSISTED_QUERY_NOT_ALLOWED", f"{who} runs registered (trusted) documents only"
            )
        if self.settings.trusted_documents_mode == "log":
            UNTRUSTED_DOCUMENTS.labels("logged").inc()
            self._log_once(text)
        return ResolvedDocument(text, None)

    def _log_once(self, text: str) -> None:
        sha256 = sha256_of(text)
        if sha256 in self._logged or len(self._logged) >= _LOGGED_LIMIT:
            return
        self._logged.add(sha256)
        # The hash and the start of the text, enough to find the client; never the variables.
        log.warning("untrusted document ran: sha256=%s text=%r", sha256, text[:200])
