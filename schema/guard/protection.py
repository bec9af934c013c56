"""What an operation must pass before it executes, and what it is charged.

A principal this process saw run dry is answered 429 before anything else (``gate``: no parse, no
Redis), until the wait it was told has passed. A refused request (a limit, a document that does not
parse or validate, one that is not allowed) costs its principal ``refused_request_cost`` points, so an
attacker who only sends refusals reaches that cheap 429 too; the refusals themselves were measured at
1-8 ms of server CPU each (`make bench-attack`).

In order (after the static limits, which the document cache checks before validation): introspection
(operators, or everyone where settings open it), the cost against the principal's per-operation limit
(schema/guard/cost.py, with the request's variables), and the principal's leaky bucket in Redis
(persistence/ratelimit.py), charged the requested cost and refunded to the actual cost afterwards (the
refund goes with the principal's next charge). For a bearer token the charge is usually made earlier, in
the round trip that reads the session (``precharge``, schema/http/first_trip.py), and ``admit`` takes it
over; a request refused before gives it back (``release``).
Limit errors keep their message: they are the client's to read, not bugs to mask.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    visit,
)
from graphql.language import Visitor

from persistence.ratelimit import BucketState, CostLimiter
from persistence.replica import follow_writes
from persistence.settings import Settings
from resolvers.principal import Principal
from schema.core.request import RequestError
from schema.guard.cost import CostModel, actual_cost, operation_cost
from schema.guard.limits import QueryLimits

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
INTROSPECTION_DEPTH = 20


@dataclass(frozen=True)
class Budget:
    """A principal's bucket: users by user, API keys by key, anonymous callers by address."""

    key: str
    capacity: int
    restore_rate: float


@dataclass
class Precharge:
    """A charge made in the round trip that read the principal's session, before the checks that
    need the principal: ``admit`` takes it over as its charge; ``release`` gives it back if the
    request ends before (refused, or failed)."""

    budget: Budget
    requested: int
    state: BucketState
    settled: bool = False


@dataclass(frozen=True)
class Admission:
    budget: Budget
    requested: int
    state: BucketState


class _IntrospectionFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in _INTROSPECTION_FIELDS:
            self.found = True


def uses_introspection(document: DocumentNode) -> bool:
    """Whether any operation or fragment of the document asks for the schema (`__typename` is fine)."""
    finder = _IntrospectionFinder()
    visit(document, finder)
    return finder.found


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_root_fields=settings.max_root_fields,
        max_directives=settings.max_directives,
    )


def budget_for(principal: Principal | None, client_address: str | None, settings: Settings) -> Budget:
    if principal is None:
        return Budget(
            f"ip:{client_address or 'unknown'}",
            settings.anonymous_cost_bucket_capacity,
            settings.anonymous_cost_restore_rate,
        )
    if principal.api_key_id is not None:
        return Budget(
            principal.budget_key,
            settings.api_key_cost_bucket_capacity,
            settings.api_key_cost_restore_rate,
        )
    return user_budget(principal.user_id, settings)


def user_budget(user_id: int, settings: Settings) -> Budget:
    return Budget(f"user:{user_id}", settings.cost_bucket_capacity, settings.cost_restore_rate)


def cost_extension(admission: Admission, actual: int | None) -> dict[str, Any]:
    state = admission.state
    return {
        "requested": admission.requested,
        "actual": actual,
        "limit": state.limit,
        "remaining": state.remaining,
        "restoreRate": state.restore_rate,
    }


def rate_headers(state: BucketState) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(state.limit),
        "X-RateLimit-Remaining": str(state.remaining),
        "X-RateLimit-Reset": str(math.ceil(state.reset_seconds)),
    }
    if not state.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(state.retry_after_seconds)))
    return headers


def _rate_limited(message: str, retry: int, headers: dict[str, str], **extensions: Any) -> RequestError:
    return RequestError(
        429, "RATE_LIMITED", message, headers, error_extensions={"retryAfter": retry}, **extensions
    )


class DryBuckets:
    """The principals this process saw run dry, until when (monotonic): bounded, oldest forgotten."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._until: OrderedDict[str, float] = OrderedDict()

    def remember(self, key: str, retry_after_seconds: float) -> None:
        self._until[key] = time.monotonic() + retry_after_seconds
        self._until.move_to_end(key)
        while len(self._until) > self.max_keys:
            self._until.popitem(last=False)

    def wait(self, key: str) -> float:
        """Seconds this principal must still wait; 0 when it may go on."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._until[key]
            return 0.0
        return left


class Protection:
    def __init__(self, settings: Settings, schema: GraphQLSchema, limiter: CostLimiter) -> None:
        self.settings = settings
        self.schema = schema
        self.limiter = limiter
        self.dry = DryBuckets()
        self.model = CostModel(
            max_page_size=settings.max_page_size, default_page_size=settings.default_page_size
        )

    def gate(self, budget: Budget) -> None:
        """429 at once for a principal this process saw run dry and whose wait is not over."""
        left = self.dry.wait(budget.key)
        if left > 0:
            retry = max(1, math.ceil(left))
            message = f"the budget is spent; retry in {retry} s"
            # What this process knows without asking Redis: the bucket could not pay, and its size.
            cost = {
                "requested": None,
                "actual": None,
                "limit": budget.capacity,
                "remaining": 0,
                "restoreRate": budget.restore_rate,
            }
            headers = {"Retry-After": str(retry), "X-RateLimit-Limit": str(budget.capacity)}
            headers["X-RateLimit-Remaining"] = "0"
            raise _rate_limited(message, retry, headers, response_extensions={"cost": cost})

    async def penalize(self, budget: Budget) -> None:
        """Charges a refused request's flat price; a bucket that cannot pay it is remembered as dry."""
        price = min(self.settings.refused_request_cost, budget.capacity)
        if price <= 0:
            return
        state = await self.limiter.charge(
            budget.key, price, capacity=budget.capacity, restore_rate=budget.restore_rate
        )
        if not state.allowed:
            self.dry.remember(budget.key, state.retry_after_seconds)

    def check_introspection(self, principal: Principal | None, *, introspects: bool) -> None:
        operator = principal is not None and principal.is_operator
        if introspects and not self.settings.introspection_open and not operator:
            raise RequestError(
                403, "INTROSPECTION_DISABLED", "introspection is open to platform operators only"
            )

    def requested_cost(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        budget: Budget,
    ) -> int | None:
        """What ``admit`` will charge; None for an operation over the per-operation limit."""
        name = operation.name.value if operation.name else None
        requested = operation_cost(self.schema, document, name, variables, self.model)
        # An operation that costs more than the whole bucket would wait forever: it is over the limit.
        return None if requested > min(self.settings.cost_limit_per_operation, budget.capacity) else requested

    async def precharge(
        self, budget: Budget, requested: int, read_key: str
    ) -> tuple[Precharge, bytes | None] | None:
        """Charges ``requested`` and reads ``read_key`` in one round trip; None (nothing charged) for a
        principal this process saw run dry (``gate`` answers it) or when Redis cannot be asked."""
        if self.dry.wait(budget.key) > 0:
            return None
        answer = await self.limiter.charge_and_get(
            budget.key, requested, capacity=budget.capacity, restore_rate=budget.restore_rate, key=read_key
        )
        if answer is None:
            return None
        state, value = answer
        return Precharge(budget, requested, state), value

    def release(self, precharge: Precharge | None) -> None:
        """Gives back a precharge ``admit`` did not take over (with the principal's next charge)."""
        if precharge is None or precharge.settled:
            return
        precharge.settled = True
        if precharge.state.allowed:
            self.limiter.refund_later(precharge.budget.key, precharge.requested, precharge.state)

    async def admit(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        budget: Budget,
        precharge: Precharge | None = None,
    ) -> Admission:
        name = operation.name.value if operation.name else None
        requested = operation_cost(self.schema, document, name, variables, self.model)
        # An operation that costs more than the whole bucket would wait forever: it is over the limit.
        limit = min(self.settings.cost_limit_per_operation, budget.capacity)
        if requested > limit:
            raise RequestError(
                400,
                "COST_LIMIT_EXCEEDED",
                f"the operation costs {requested}, over the limit of {limit} per operation",
                error_extensions={"cost": requested, "limit": limit},
            )
        if (
            precharge is not None
            and not precharge.settled
            and (precharge.budget, precharge.requested)
            == (
                budget,
                requested,
            )
        ):
            precharge.settled = True
            state = precharge.state
        else:
            state = await self.limiter.charge(
                budget.key, requested, capacity=budget.capacity, restore_rate=budget.restore_rate
            )
        if state.wrote_recently:
            follow_writes()  # the principal wrote a moment ago: a lagging replica would not show it
        admission = Admission(budget, requested, state)
        if not state.allowed:
            retry = max(1, math.ceil(state.retry_after_seconds))
            self.dry.remember(budget.key, state.retry_after_seconds)
            message = (
                f"the operation costs {requested} and {state.remaining} of the budget is left; "
                f"retry in {retry} s"
            )
            raise _rate_limited(
                message,
                retry,
                rate_headers(state),
                response_extensions={"cost": cost_extension(admission, None)},
            )
        return admission

    async def settle(
        self, admission: Admission, data: dict[str, Any] | None, operation: OperationDefinitionNode
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Refunds what the operation did not use; the cost extension and the rate headers."""
        mutation_fields = len(data or {}) if operation.operation is OperationType.MUTATION else 0
        actual = min(
            admission.requested, actual_cost(data, is_mutation_fields=mutation_fields, model=self.model)
        )
        state = admission.state
        unused = admission.requested - actual
        if unused > 0:
            # Not waited for: it goes with this principal's next charge (persistence/ratelimit.py).
            state = self.limiter.refund_later(admission.budget.key, unused, state)
        settled = Admission(admission.budget, admission.requested, state)
        return cost_extension(settled, actual), rate_headers(state)
