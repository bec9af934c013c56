"""argon2id password hashing, run in a worker thread (~30 ms a hash must not block the event loop)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from persistence.settings import Settings


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        )
        # Verified against when the email is unknown, so both answers take the same time.
        self._decoy_hash = self._hasher.hash("decoy password for unknown accounts")

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify_sync, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a hash that verified was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)

    def verify_sync(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy_hash, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False
