"""Slowing down password guessing: locked accounts, throttled unknown emails, and a limit on
sign-ins per client address; all of it in PostgreSQL, so it holds across replicas.

Known accounts are locked in their row (`users.failed_logins`, `users.locked_until`). Unknown
emails have no row; a sliding window per email (`triad.auth.throttle`) refuses them the same
way, so the answers do not tell an attacker which emails exist. Every check is made, and the
attempt counted, before the slow password hash runs.
"""

from __future__ import annotations

import math

from triad.errors import NotAuthorizedError


def _wait(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


class AccountLockedError(NotAuthorizedError):
    """Too many failed logins; refused until `retry_after` seconds have passed (HTTP 429)."""

    def __init__(self, retry_after: float, reason: str = "too many failed attempts") -> None:
        self.retry_after = max(1.0, retry_after)
        super().__init__(f"{reason}, try again in {_wait(self.retry_after)}")


class SignInThrottledError(AccountLockedError):
    """Too many sign-ins from one client address, whatever the emails (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after, "too many sign-in attempts from your address")
