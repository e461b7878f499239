"""Slowing down password guessing: locked accounts, and a per-address throttle for unknown emails.

Known accounts are locked in the database (`users.failed_logins`, `users.locked_until`) so the
lock holds across replicas. Unknown emails have no row to count on; an in-memory counter per
(client address, email) makes them behave the same way, so the answers do not tell an attacker
which emails exist.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from triad.errors import NotAuthorizedError


class AccountLockedError(NotAuthorizedError):
    """Too many failed logins; refused until `retry_after` seconds have passed (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1.0, retry_after)
        minutes = max(1, math.ceil(self.retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"too many failed attempts, try again in {minutes} {unit}")


@dataclass
class _Entry:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Consecutive failures per key, locking the key like an account; bounded in memory."""

    def __init__(self, *, max_failures: int, lockout_seconds: float, capacity: int = 10_000):
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise AccountLockedError while the key is locked."""
        entry = self._entries.get(key)
        if entry is None:
            return
        left = entry.locked_until - time.monotonic()
        if left > 0:
            raise AccountLockedError(left)

    def failed(self, key: str) -> None:
        """Count a failure; the `max_failures`-th in a row locks the key."""
        entry = self._entries.pop(key, None) or _Entry()
        entry.failures += 1
        if entry.failures >= self.max_failures:
            entry.failures = 0
            entry.locked_until = time.monotonic() + self.lockout_seconds
        self._entries[key] = entry
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._entries.pop(key, None)
