"""argon2id password hashing, run in a thread pool of its own (~30 ms a hash must not block the event loop).

The pool is the hashes' alone, one thread per core: a login's hash never queues behind the other work
sent to threads (file moves, metrics rendering, job enqueues share the loop's default executor), and
more threads than cores would only make every hash slower. The auth admission lane is sized to it
(schema/guard/lanes.py).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from persistence.settings import Settings


def hash_threads(settings: Settings) -> int:
    """The setting, or one thread per core (at least one)."""
    return settings.password_hash_threads or max(1, os.cpu_count() or 1)


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        )
        self.threads = hash_threads(settings)
        # Threads are started on first use: building the services costs none.
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="password-hash")
        # Verified against when the email is unknown, so both answers take the same time.
        self._decoy_hash = self._hasher.hash("decoy password for unknown accounts")

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify_sync, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a hash that verified was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)

    def verify_sync(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy_hash, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def close(self) -> None:
        """Stops the pool's threads once the hashes under way are done (a few tens of ms at most)."""
        self._pool.shutdown(wait=True)
