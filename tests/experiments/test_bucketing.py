"""Sticky, reproducible bucketing: even spread, same answer in another process, few moves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

from triad.experiments.bucketing import BUCKETS, arm_for, assign, bucket
from triad.experiments.store import canary_shares

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
