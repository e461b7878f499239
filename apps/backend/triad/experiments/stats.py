"""Is an arm's rate really different from the baseline's, and how many more turns until we know?

A two-proportion z-test (pooled standard error for the test statistic, unpooled for the
confidence interval of the difference), and the classic per-arm sample size for detecting a
minimum difference with a given power (Fleiss; the formula of most A/B calculators). The
normal distribution is the standard library's (`statistics.NormalDist`). A
comparison is "too early to call" while either arm has fewer turns than that sample size, or
while the difference is not significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
ALPHA = 0.05
POWER = 0.8
MIN_DETECTABLE_EFFECT = 0.05
"""Absolute difference in a rate (5 percentage points) worth detecting, by default."""


@dataclass(frozen=True)
class Proportion:
    successes: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None


@dataclass(frozen=True)
class ZTest:
    """`diff` is arm minus baseline; `ci_*` its (1 - alpha) confidence interval."""

    diff: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


def two_proportion_z_test(baseline: Proportion, arm: Proportion, alpha: float = ALPHA) -> ZTest:
    """Two-sided test of H0: both rates are equal. No evidence (an empty arm, or both rates 0
    or 1) gives z = 0 and p = 1 rather than a division by zero."""
    if baseline.n == 0 or arm.n == 0:
        return ZTest(0.0, 0.0, 1.0, -1.0, 1.0)
    p1, p2 = baseline.successes / baseline.n, arm.successes / arm.n
    diff = p2 - p1
    pooled = (baseline.successes + arm.successes) / (baseline.n + arm.n)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / baseline.n + 1 / arm.n))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = 2 * (1 - _NORMAL.cdf(abs(z))) if se_pooled > 0 else 1.0
    se = math.sqrt(p1 * (1 - p1) / baseline.n + p2 * (1 - p2) / arm.n)
    half = _NORMAL.inv_cdf(1 - alpha / 2) * se
    return ZTest(diff, z, p_value, max(-1.0, diff - half), min(1.0, diff + half))


def required_sample_size(
    baseline_rate: float,
    mde: float = MIN_DETECTABLE_EFFECT,
    alpha: float = ALPHA,
    power: float = POWER,
) -> int:
    """Turns needed in each arm to detect `baseline_rate` moving by `mde` (absolute),
    two-sided at `alpha` with `power`."""
    if mde <= 0:
        raise ValueError("the minimum detectable effect must be positive")
    p1 = min(max(baseline_rate, 0.0), 1.0)
    if p1 + mde <= 1:  # look upwards where there is room, else downwards
        p2 = p1 + mde
    elif p1 - mde >= 0:
        p2 = p1 - mde
    else:
        raise ValueError(f"a rate of {p1:g} cannot move by {mde:g} either way; keep mde <= 0.5")
    p_bar = (p1 + p2) / 2
    z_a, z_b = _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)
    root = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / (p2 - p1) ** 2)


@dataclass(frozen=True)
class Comparison:
    """One arm against the baseline on one rate, with the plain-language call."""

    baseline: Proportion
    arm: Proportion
    test: ZTest
    required_n: int
    more_needed: int
    significant: bool
    verdict: str


def compare(
    baseline: Proportion,
    arm: Proportion,
    *,
    higher_is_better: bool,
    alpha: float = ALPHA,
    power: float = POWER,
    mde: float = MIN_DETECTABLE_EFFECT,
) -> Comparison:
    test = two_proportion_z_test(baseline, arm, alpha)
    required = required_sample_size(baseline.rate or 0.0, mde, alpha, power)
    more = max(0, required - min(baseline.n, arm.n))
    significant = more == 0 and test.p_value < alpha
    if more > 0:
        verdict = f"too early to call: {more} more per arm needed (of {required})"
    elif not significant:
        verdict = f"too early to call: no significant difference yet (p={test.p_value:.3f})"
    else:
        better = (test.diff > 0) == higher_is_better
        verdict = f"{'better' if better else 'worse'} than baseline (p={test.p_value:.3g})"
    return Comparison(baseline, arm, test, required, more, significant, verdict)
