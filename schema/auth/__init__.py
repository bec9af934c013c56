"""Signing in and keys: login, refresh, logout, password reset, and API keys with their mutations.

May import users and core."""
