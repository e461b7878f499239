"""Sticky, reproducible bucketing: even spread, same answer in another process, few moves."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Experiment
from triad.experiments.bucketing import (
    BUCKETS,
    Allocation,
    Range,
    arm_for,
    assign,
    bucket,
    check_allocation,
    contiguous,
    reallocate,
)
from triad.experiments.config import ExperimentsConfig
from triad.experiments.store import allocation_of, canary_shares, sync_experiments, with_shares

USERS = [f"user-{n}" for n in range(100_000)]
SHARES = [("control", 5000), ("variant-a", 3000), ("variant-b", 2000)]


def test_arms_get_their_share_of_100k_users_within_one_point() -> None:
    counts = Counter(assign("salt-1", user, SHARES) for user in USERS)
    for name, bps in SHARES:
        assert abs(counts[name] / len(USERS) - bps / BUCKETS) < 0.01, (name, counts)
    # Pearson's chi-square against the shares; 13.82 is the 0.001 critical value for 2 df.
    chi2 = sum(
        (counts[name] - len(USERS) * bps / BUCKETS) ** 2 / (len(USERS) * bps / BUCKETS)
        for name, bps in SHARES
    )
    assert chi2 < 13.82


def test_buckets_are_uniform_and_depend_on_the_salt() -> None:
    deciles = Counter(bucket("salt-1", user) * 10 // BUCKETS for user in USERS)
    assert all(abs(n / len(USERS) - 0.1) < 0.01 for n in deciles.values())
    same = sum(bucket("salt-1", u) == bucket("salt-2", u) for u in USERS[:10_000])
    assert same < 50  # about 1 in 10,000 by chance


def test_a_one_percent_arm_gets_about_one_percent() -> None:
    shares = list(zip(("baseline", "canary"), canary_shares(1), strict=True))
    counts = Counter(assign("canary-salt", user, shares) for user in USERS)
    assert 800 < counts["canary"] < 1200


def test_assignment_is_the_same_in_another_process_with_another_hash_seed() -> None:
    users = USERS[:2000]
    here = [assign("sticky", u, SHARES) for u in users]
    code = (
        "import json, sys\n"
        "from triad.experiments.bucketing import assign\n"
        "users, shares = json.load(sys.stdin)\n"
        "print(json.dumps([assign('sticky', u, [tuple(s) for s in shares]) for u in users]))\n"
    )
    seeds = {hash("sticky")}
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps([users, SHARES]),
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert json.loads(done.stdout) == here
        seed_hash = subprocess.run(
            [sys.executable, "-c", "print(hash('sticky'))"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        seeds.add(int(seed_hash.stdout))
    assert len(seeds) == 3  # Python's own hash() really differed between the processes


def test_growing_the_canary_moves_only_the_difference_and_only_into_the_canary() -> None:
    before = list(zip(("baseline", "canary"), canary_shares(1), strict=True))
    after = list(zip(("baseline", "canary"), canary_shares(5), strict=True))
    moved = [(assign("c", u, before), assign("c", u, after)) for u in USERS]
    changed = [(a, b) for a, b in moved if a != b]
    assert {pair for pair in changed} == {("baseline", "canary")}
    assert abs(len(changed) / len(USERS) - 0.04) < 0.005


def test_changing_one_share_against_its_neighbour_moves_only_that_difference() -> None:
    before = [("a", 4000), ("b", 3000), ("c", 3000)]
    after = [("a", 4000), ("b", 3500), ("c", 2500)]
    moved = [(assign("ab", u, before), assign("ab", u, after)) for u in USERS]
    changed = [(x, y) for x, y in moved if x != y]
    assert {pair for pair in changed} == {("c", "b")}
    assert abs(len(changed) / len(USERS) - 0.05) < 0.005


def test_shares_that_do_not_cover_every_bucket_are_refused() -> None:
    assert arm_for(9999, [("a", 5000), ("b", 5000)]) == "b"
    try:
        arm_for(9999, [("a", 5000), ("b", 4000)])
    except ValueError as exc:
        assert "9000 basis points" in str(exc)
    else:
        raise AssertionError("expected a ValueError")


def owners(allocation: dict[str, list[Range]]) -> list[str]:
    """The arm of every bucket, checking the ranges cover 0..10,000 exactly once."""
    check_allocation(allocation)
    table = Allocation.of(allocation)
    return [table.arm_at(b) for b in range(BUCKETS)]


def assert_valid(allocation: dict[str, list[Range]], shares: list[tuple[str, int]]) -> None:
    owner = owners(allocation)
    assert [name for name, _ in shares] == list(allocation)
    for name, bps in shares:
        assert owner.count(name) == bps, name
        assert sum(end - start for start, end in allocation[name]) == bps
        ranges = allocation[name]
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), ranges


def test_the_first_allocation_is_contiguous_in_arm_order_like_assign() -> None:
    allocation = contiguous(SHARES)
    assert allocation == {
        "control": [(0, 5000)],
        "variant-a": [(5000, 8000)],
        "variant-b": [(8000, 10_000)],
    }
    table = Allocation.of(allocation)
    assert all(table.assign("salt-1", u) == assign("salt-1", u, SHARES) for u in USERS[:20_000])


def test_moving_share_from_the_first_arm_to_the_last_moves_exactly_the_difference() -> None:
    """40/30/30 -> 30/30/40: contiguous ranges would move 20% (b slides along); ranges that
    follow on move 10%, all from a to c."""
    before_shares = [("a", 4000), ("b", 3000), ("c", 3000)]
    after_shares = [("a", 3000), ("b", 3000), ("c", 4000)]
    before = contiguous(before_shares)
    after = reallocate(before, after_shares)
    assert_valid(after, after_shares)
    assert after == {"a": [(0, 3000)], "b": [(4000, 7000)], "c": [(3000, 4000), (7000, 10_000)]}
    moved_buckets = [(x, y) for x, y in zip(owners(before), owners(after), strict=True) if x != y]
    assert len(moved_buckets) == 1000
    assert set(moved_buckets) == {("a", "c")}

    old, new = Allocation.of(before), Allocation.of(after)
    moved = [(old.assign("abc", u), new.assign("abc", u)) for u in USERS]
    changed = [(x, y) for x, y in moved if x != y]
    assert {pair for pair in changed} == {("a", "c")}
    assert abs(len(changed) / len(USERS) - 0.10) < 0.005
    # What contiguous ranges in arm order would have done: twice as many moves.
    naive = sum(assign("abc", u, before_shares) != assign("abc", u, after_shares) for u in USERS)
    assert abs(naive / len(USERS) - 0.20) < 0.005


def test_any_share_change_moves_exactly_the_sum_of_the_growth() -> None:
    history = [
        [("a", 2500), ("b", 2500), ("c", 2500), ("d", 2500)],
        [("a", 1000), ("b", 4000), ("c", 2500), ("d", 2500)],
        [("a", 4000), ("b", 1000), ("c", 1000), ("d", 4000)],
        [("a", 0), ("b", 5000), ("c", 3333), ("d", 1667)],
        [("a", 2500), ("b", 2500), ("c", 2500), ("d", 2500)],
    ]
    allocation = contiguous(history[0])
    for before_shares, after_shares in itertools.pairwise(history):
        after = reallocate(allocation, after_shares)
        assert_valid(after, after_shares)
        old, new = dict(before_shares), dict(after_shares)
        growth = sum(max(0, new[n] - old[n]) for n in new)
        moves = [(x, y) for x, y in zip(owners(allocation), owners(after), strict=True) if x != y]
        assert len(moves) == growth
        assert all(old[x] > new[x] and new[y] > old[y] for x, y in moves)  # shrunk -> grown
        unchanged = [n for n in new if new[n] == old[n]]
        assert all(after[n] == allocation[n] for n in unchanged)  # kept exactly
        allocation = after


def test_a_canary_ramp_moves_only_baseline_users_into_the_canary() -> None:
    steps = [1, 5, 25]
    allocation: dict[str, list[Range]] = {}
    seen: dict[str, str] = {}
    previous = 0
    for step in steps:
        shares = list(zip(("baseline", "canary"), canary_shares(step), strict=True))
        before = allocation
        allocation = reallocate(allocation, shares)
        assert_valid(allocation, shares)
        table = Allocation.of(allocation)
        now = {u: table.assign("ramp", u) for u in USERS}
        if before:
            changed = [(seen[u], now[u]) for u in USERS if seen[u] != now[u]]
            assert set(changed) == {("baseline", "canary")}
            assert abs(len(changed) / len(USERS) - (step - previous) / 100) < 0.005
        seen, previous = now, step
    assert allocation == {"baseline": [(0, 7500)], "canary": [(7500, 10_000)]}


def test_a_removed_arm_releases_all_its_buckets_to_the_arms_that_grow() -> None:
    before = contiguous([("a", 3000), ("b", 3000), ("c", 4000)])
    after_shares = [("c", 4000), ("a", 5000), ("d", 1000)]  # b removed, d new, reordered
    after = reallocate(before, after_shares)
    assert_valid(after, after_shares)
    assert after["c"] == before["c"]
    assert after == {"c": [(6000, 10_000)], "a": [(0, 5000)], "d": [(5000, 6000)]}
    moves = {(x, y) for x, y in zip(owners(before), owners(after), strict=True) if x != y}
    assert moves == {("b", "a"), ("b", "d")}


def test_allocation_is_deterministic_so_replicas_agree() -> None:
    start = contiguous([("a", 4000), ("b", 3000), ("c", 3000)])
    shares = [("a", 1234), ("b", 4321), ("c", 4445)]
    results = {repr(reallocate(start, shares)) for _ in range(5)}
    assert len(results) == 1
    assert reallocate(dict(reversed(list(start.items()))), shares) == reallocate(start, shares)


def test_bad_allocations_are_refused() -> None:
    with pytest.raises(ValueError, match="9000 basis points"):
        reallocate({}, [("a", 5000), ("b", 4000)])
    with pytest.raises(ValueError, match="belongs to both"):
        reallocate({"a": [(0, 6000)], "b": [(5000, 10_000)]}, [("a", 5000), ("b", 5000)])
    with pytest.raises(ValueError, match=r"cover 0\.\.9000"):
        check_allocation({"a": [(0, 9000)]})
    with pytest.raises(ValueError, match="does not start at 5000"):
        check_allocation({"a": [(0, 5000)], "b": [(6000, 10_000)]})


def test_arms_stored_without_ranges_keep_the_contiguous_assignment_they_had() -> None:
    legacy = [{"name": "a", "share_bps": 4000}, {"name": "b", "share_bps": 6000}]
    assert allocation_of(legacy) == {"a": [(0, 4000)], "b": [(4000, 10_000)]}
    moved = with_shares(legacy, [3000, 7000])
    assert [a["ranges"] for a in moved] == [[[0, 3000]], [[3000, 10_000]]]
    assert allocation_of(moved) == {"a": [(0, 3000)], "b": [(3000, 10_000)]}


def experiments(a: float, b: float, c: float) -> ExperimentsConfig:
    return ExperimentsConfig.model_validate(
        {
            "experiments": [
                {
                    "key": "abc",
                    "target_kind": "agent",
                    "target": "menu",
                    "arms": [
                        {"name": "a", "share": a},
                        {"name": "b", "share": b, "prompt_version": 1},
                        {"name": "c", "share": c, "prompt_version": 1},
                    ],
                }
            ]
        }
    )


async def test_a_config_sync_stores_ranges_that_move_the_fewest_users(
    session: AsyncSession,
) -> None:
    assert await sync_experiments(session, experiments(40, 30, 30)) == ["abc"]
    row = await session.scalar(select(Experiment).where(Experiment.key == "abc"))
    assert row is not None
    assert [a["ranges"] for a in row.arms] == [[[0, 4000]], [[4000, 7000]], [[7000, 10_000]]]
    before = Allocation.of(allocation_of(row.arms))

    assert await sync_experiments(session, experiments(40, 30, 30)) == []  # nothing moves
    assert await sync_experiments(session, experiments(30, 30, 40)) == ["abc"]
    session.expire_all()
    row = await session.scalar(select(Experiment).where(Experiment.key == "abc"))
    assert row is not None
    assert [(a["share_bps"], a["ranges"]) for a in row.arms] == [
        (3000, [[0, 3000]]),
        (3000, [[4000, 7000]]),
        (4000, [[3000, 4000], [7000, 10_000]]),
    ]
    after = Allocation.of(allocation_of(row.arms))
    changed = {(before.arm_at(b), after.arm_at(b)) for b in range(BUCKETS)} - {
        (n, n) for n in "abc"
    }
    assert changed == {("a", "c")}
    assert sum(before.arm_at(b) != after.arm_at(b) for b in range(BUCKETS)) == 1000
