"""Which admission queue a GraphQL request over HTTP waits in: auth operations in a lane of their own.

Logins and token refreshes are the seed's auth class (p95 120 ms). Behind a saturated read/write
queue they would wait its full admission time or be shed with it, and a client that cannot sign in or
refresh its token cannot do anything else either. So they take slots of their own, as many as the
password hashing pool has threads (persistence/passwords.py): a login's slot is mostly its hash, and
more logins at once than threads would only wait inside the pool. A login waits longer for its slot than
other requests do (``auth_admission_wait_ms``, 500 ms, the auth row's longest): a burst of sign-ins is
better served late than refused. A login flood is still bounded: past the waiting line it is shed from
its own lane (503 ``OVERLOADED``), and the per-address and per-email throttling
(resolvers/login_throttle.py) still applies to what gets in.

The lane is chosen once the body is read and before the slot is taken, so it must be known without
I/O and, for every other request, without parsing: shedding is meant to cost a refused request almost
nothing. Only a document whose text names an auth field (a substring test on text already in memory)
is looked at further; its parse goes through the document cache, which the admitted request would
have filled anyway, so a login pays it once, not twice. A trusted document named by id or hash is
looked up in the process's registry (no I/O); one not yet loaded waits in the general lane. An
operation takes the auth lane only when every root field is an auth field, so no write rides along
with a login into the lane.
"""

from __future__ import annotations

from graphql import OperationType, get_operation_ast

from persistence.settings import Settings
from schema.core.request import GraphQLParams
from schema.guard.admission import Admission
from schema.guard.documents import MAX_CACHED_LENGTH, DocumentCache
from schema.guard.operation_class import AUTH_FIELDS, root_field_names
from schema.guard.persisted import PersistedDocuments


class AdmissionLanes:
    def __init__(
        self, general: Admission, auth: Admission, documents: DocumentCache, persisted: PersistedDocuments
    ) -> None:
        self.general = general
        self.auth = auth
        self.documents = documents
        self.persisted = persisted

    @classmethod
    def from_settings(
        cls, settings: Settings, hash_threads: int, documents: DocumentCache, persisted: PersistedDocuments
    ) -> AdmissionLanes:
        auth = Admission(
            hash_threads, settings.max_auth_requests_waiting, settings.auth_admission_wait_ms / 1000
        )
        return cls(Admission.from_settings(settings), auth, documents, persisted)

    def for_request(self, method: str, params: GraphQLParams) -> Admission:
        return self.auth if method == "POST" and self._is_auth(params) else self.general

    def _is_auth(self, params: GraphQLParams) -> bool:
        text = self.persisted.known_trusted_text(params)
        if text is None and params.document_id is None:
            text = params.query
        # Longer texts are not cached: parsing one here would parse it twice, and no login is that long.
        if text is None or len(text) > MAX_CACHED_LENGTH or not any(name in text for name in AUTH_FIELDS):
            return False
        document = self.documents.get(text).document
        if document is None:
            return False
        operation = get_operation_ast(document, params.operation_name)
        if operation is None or operation.operation is not OperationType.MUTATION:
            return False
        names = root_field_names(document, operation)
        return bool(names) and names <= AUTH_FIELDS
