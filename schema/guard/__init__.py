"""What a GraphQL operation passes before it runs and what it is charged: documents parsed and validated
once, static limits, cost, persisted and trusted documents, load shedding, idempotency, and the one
observation each request makes (operation class and metrics).

May import core only (and persistence's infrastructure); never an edge or a domain package."""
