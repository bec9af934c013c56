"""Webhooks and their delivery log: types and mutations.

May import the guard and core. Data comes through resolvers/ as records, never from persistence's
models or queries."""
