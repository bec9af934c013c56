"""The GraphQL edge and composition root: app factory, view, auth, types per domain, extensions."""
