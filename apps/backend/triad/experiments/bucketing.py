"""Sticky, reproducible assignment of a user to an arm.

A user's bucket is SHA-256 of the experiment's salt and the user id, reduced to one of
10,000 buckets (one basis point each), so every process and every restart agrees (Python's
`hash()` is salted per process and would not). Each arm owns explicit bucket ranges
(`[start, end)`), stored with the arm. The first allocation is contiguous in arm order; when
shares change, `reallocate` derives the new ranges from the old ones: a shrinking arm gives up
the buckets at the end of its ranges, a growing arm takes given-up (or unowned) buckets, an
unchanged arm keeps its own. So the users who change arm are exactly the sum of the growth
(the fewest possible): 40/30/30 -> 30/30/40 moves 10% of users, all from the first arm to the
last, where contiguous ranges in arm order would move 20%.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BUCKETS = 10_000

Range = tuple[int, int]
"""Buckets `start <= b < end`."""


def bucket(salt: str, unit: str) -> int:
    """The bucket (0..9999) of `unit` (a user id) in the experiment salted with `salt`."""
    digest = hashlib.sha256(f"{salt}\x00{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(bucket_no: int, shares_bps: Sequence[tuple[str, int]]) -> str:
    """The arm whose range holds `bucket_no` in the contiguous (first) allocation of shares in
    basis points summing to 10,000."""
    upper = 0
    for name, share in shares_bps:
        upper += share
        if bucket_no < upper:
            return name
    raise ValueError(f"arm shares sum to {upper} basis points, not {BUCKETS}")


def assign(salt: str, unit: str, shares_bps: Sequence[tuple[str, int]]) -> str:
    """The arm of `unit` under the contiguous (first) allocation of `shares_bps`."""
    return arm_for(bucket(salt, unit), shares_bps)


def _check_shares(shares_bps: Sequence[tuple[str, int]]) -> None:
    names = [name for name, _ in shares_bps]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must be unique, got {names}")
    if any(share < 0 for _, share in shares_bps):
        raise ValueError(f"arm shares must not be negative, got {list(shares_bps)}")
    total = sum(share for _, share in shares_bps)
    if total != BUCKETS:
        raise ValueError(f"arm shares sum to {total} basis points, not {BUCKETS}")


def _ranges_of(buckets: Sequence[int]) -> list[Range]:
    """Ascending buckets as merged ranges."""
    out: list[Range] = []
    for b in buckets:
        if out and out[-1][1] == b:
            out[-1] = (out[-1][0], b + 1)
        else:
            out.append((b, b + 1))
    return out


def reallocate(
    old: Mapping[str, Sequence[Range]], shares_bps: Sequence[tuple[str, int]]
) -> dict[str, list[Range]]:
    """Each arm's ranges for `shares_bps`, moving as few buckets as possible from `old`.

    Arms (in `shares_bps` order) keep the lowest `share` buckets they owned and release the
    rest; buckets released or owned by no arm in `shares_bps` (removed arms, a first
    allocation) go, lowest first, to the arms that need more, in arm order. A pure function of
    its input, so every replica computes the same ranges. Overlapping `old` ranges or ranges
    outside 0..10,000 are a ValueError.
    """
    _check_shares(shares_bps)
    owner: list[str | None] = [None] * BUCKETS
    for name, ranges in old.items():
        for start, end in ranges:
            if not 0 <= start <= end <= BUCKETS:
                raise ValueError(f"arm '{name}': range [{start}, {end}) is outside 0..{BUCKETS}")
            for b in range(start, end):
                if owner[b] is not None:
                    raise ValueError(f"bucket {b} belongs to both '{owner[b]}' and '{name}'")
                owner[b] = name
    shares = dict(shares_bps)
    owned: dict[str, list[int]] = {name: [] for name in shares}
    for b, holder in enumerate(owner):
        if holder in owned:
            owned[holder].append(b)
    kept = {name: owned[name][: shares[name]] for name in shares}
    mine = {b for buckets in kept.values() for b in buckets}
    free = (b for b in range(BUCKETS) if b not in mine)
    out: dict[str, list[Range]] = {}
    for name, share in shares_bps:
        extra = [next(free) for _ in range(share - len(kept[name]))]
        out[name] = _ranges_of(sorted(kept[name] + extra))
    return out


def contiguous(shares_bps: Sequence[tuple[str, int]]) -> dict[str, list[Range]]:
    """The first allocation: contiguous ranges in arm order (what `assign` uses)."""
    return reallocate({}, shares_bps)


def check_allocation(allocation: Mapping[str, Sequence[Range]]) -> None:
    """A ValueError unless the ranges cover 0..10,000 exactly once."""
    spans = sorted((s, e, name) for name, ranges in allocation.items() for s, e in ranges)
    at = 0
    for start, end, name in spans:
        if start != at or end <= start:
            raise ValueError(f"arm '{name}': range [{start}, {end}) does not start at {at}")
        at = end
    if at != BUCKETS:
        raise ValueError(f"the arms' ranges cover 0..{at}, not 0..{BUCKETS}")


@dataclass(frozen=True)
class Allocation:
    """Ranges sorted by start, for a binary search per assignment."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, allocation: Mapping[str, Sequence[Range]]) -> Allocation:
        check_allocation(allocation)
        spans = sorted((s, e, n) for n, ranges in allocation.items() for s, e in ranges)
        starts, ends, names = zip(*spans, strict=True)
        return cls(starts, ends, names)

    def arm_at(self, bucket_no: int) -> str:
        i = bisect.bisect_right(self.starts, bucket_no) - 1
        if i < 0 or bucket_no >= self.ends[i]:
            raise ValueError(f"bucket {bucket_no} is outside 0..{BUCKETS}")
        return self.names[i]

    def assign(self, salt: str, unit: str) -> str:
        return self.arm_at(bucket(salt, unit))
