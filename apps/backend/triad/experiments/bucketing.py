"""Sticky, reproducible assignment of a user to an arm.

A user's bucket is SHA-256 of the experiment's salt and the user id, reduced to one of
10,000 buckets (one basis point each), so every process and every restart agrees (Python's
`hash()` is salted per process and would not). Arms own contiguous bucket ranges in their
fixed order; growing an arm at the expense of its neighbour moves only the buckets between
the two boundaries, so a canary going from 1% to 5% moves 4% of users, all into the canary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(salt: str, unit: str) -> int:
    """The bucket (0..9999) of `unit` (a user id) in the experiment salted with `salt`."""
    digest = hashlib.sha256(f"{salt}\x00{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(bucket_no: int, shares_bps: Sequence[tuple[str, int]]) -> str:
    """The arm whose range holds `bucket_no`; shares in basis points summing to 10,000."""
    upper = 0
    for name, share in shares_bps:
        upper += share
        if bucket_no < upper:
            return name
    raise ValueError(f"arm shares sum to {upper} basis points, not {BUCKETS}")


def assign(salt: str, unit: str, shares_bps: Sequence[tuple[str, int]]) -> str:
    return arm_for(bucket(salt, unit), shares_bps)
