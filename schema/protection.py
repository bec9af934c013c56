"""What an operation must pass before it executes, and what it is charged.

In order: introspection (operators, or everyone where settings open it), the static limits counted
through fragments (schema/limits.py), the cost against the principal's per-operation limit
(schema/cost.py, with the request's variables), and the principal's leaky bucket in Redis
(persistence/ratelimit.py), charged the requested cost and refunded to the actual cost afterwards.
Limit errors keep their message: they are the client's to read, not bugs to mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
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
from persistence.settings import Settings
from resolvers.principal import Principal
from schema.cost import CostModel, actual_cost, operation_cost
from schema.limits import QueryLimits, check_limits
from schema.transport import RequestError

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
INTROSPECTION_DEPTH = 20


@dataclass(frozen=True)
class Budget:
    """A principal's bucket: users by user, API keys by key, anonymous callers by address."""

    key: str
    capacity: int
    restore_rate: float


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
            f"apikey:{principal.api_key_id}",
            settings.api_key_cost_bucket_capacity,
            settings.api_key_cost_restore_rate,
        )
    return Budget(f"user:{principal.user_id}", settings.cost_bucket_capacity, settings.cost_restore_rate)


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


class Protection:
    def __init__(self, settings: Settings, schema: GraphQLSchema, limiter: CostLimiter) -> None:
        self.settings = settings
        self.schema = schema
        self.limiter = limiter
        self.limits = query_limits(settings)
        self.model = CostModel(
            max_page_size=settings.max_page_size, default_page_size=settings.default_page_size
        )

    def check_static(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        principal: Principal | None,
        *,
        introspects: bool,
    ) -> None:
        operator = principal is not None and principal.is_operator
        if introspects and not self.settings.introspection_open and not operator:
            raise RequestError(
                403, "INTROSPECTION_DISABLED", "introspection is open to platform operators only"
            )
        limits = self.limits
        if introspects:
            # The standard introspection query (GraphiQL's, codegen's) nests `ofType` 15 levels deep.
            limits = replace(limits, max_depth=max(limits.max_depth, INTROSPECTION_DEPTH))
        exceeded = check_limits(document, operation, limits)
        if exceeded is not None:
            raise RequestError(400, exceeded.code, exceeded.message)

    async def admit(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        budget: Budget,
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
        state = await self.limiter.charge(
            budget.key, requested, capacity=budget.capacity, restore_rate=budget.restore_rate
        )
        admission = Admission(budget, requested, state)
        if not state.allowed:
            retry = max(1, math.ceil(state.retry_after_seconds))
            raise RequestError(
                429,
                "RATE_LIMITED",
                f"the operation costs {requested} and {state.remaining} of the budget is left; "
                f"retry in {retry} s",
                rate_headers(state),
                error_extensions={"retryAfter": retry},
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
            budget = admission.budget
            state = await self.limiter.refund(
                budget.key, unused, capacity=budget.capacity, restore_rate=budget.restore_rate
            )
        settled = Admission(admission.budget, admission.requested, state)
        return cost_extension(settled, actual), rate_headers(state)
