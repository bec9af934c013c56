"""Webhooks and their delivery log: types and mutations.

May import core only."""
