"""GraphQL helpers every other package shares: Relay connections and cursors, global ids, Node, selection
reading, enums, errors with their codes, payload errors, and a request's parameters.

Imports no other schema package."""
