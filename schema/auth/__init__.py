"""Signing in and keys: login, refresh, logout, password reset, and API keys with their mutations.

May import tasks, projects, users, the guard and core. Data comes through resolvers/ as records,
never from persistence's models or queries."""
