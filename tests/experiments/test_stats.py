"""Significance and sample size, checked against worked examples."""

from __future__ import annotations

import pytest

from triad.experiments.stats import (
    Proportion,
    compare,
    required_sample_size,
    two_proportion_z_test,
)


def test_two_proportion_z_test_matches_the_textbook_example() -> None:
    """Stat Trek, "Hypothesis Test: Difference Between Proportions", example 1 (cold vaccine):
    38% of 100 women and 51% of 200 men caught a cold. Pooled p = 0.467, SE = 0.061,
    z = -2.13 (women minus men), two-tailed P-value = 0.033 (Stat Trek: 0.0332, from the
    rounded z), so at alpha 0.05 the claim "equally effective" is rejected."""
    women, men = Proportion(38, 100), Proportion(102, 200)
    test = two_proportion_z_test(baseline=men, arm=women)
    assert test.diff == pytest.approx(-0.13)
    assert test.z == pytest.approx(-2.13, abs=0.005)
    assert test.p_value == pytest.approx(0.0332, abs=0.001)
    # Unpooled 95% interval: -0.13 +/- 1.96 * sqrt(.38*.62/100 + .51*.49/200) = [-0.248, -0.012]
    assert test.ci_low == pytest.approx(-0.2477, abs=0.001)
    assert test.ci_high == pytest.approx(-0.0123, abs=0.001)


def test_sample_size_matches_the_formula_worked_by_hand() -> None:
    """n = (z_.975 * sqrt(2 pbar qbar) + z_.8 * sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2 with
    p1 = 0.10, p2 = 0.15: (1.95996 * 0.46771 + 0.84162 * 0.46637)^2 / 0.0025 = 685.6 -> 686
    per arm (Fleiss' formula without continuity correction)."""
    assert required_sample_size(0.10, 0.05) == 686
    assert required_sample_size(0.10, 0.02) > required_sample_size(0.10, 0.05)
    assert required_sample_size(0.99, 0.05) > 0  # p2 would pass 1: it looks downwards


def test_a_small_sample_is_too_early_to_call_even_with_a_big_difference() -> None:
    result = compare(Proportion(1, 20), Proportion(8, 20), higher_is_better=False)
    assert result.test.p_value < 0.05
    assert not result.significant
    assert result.verdict.startswith("too early to call")
    assert result.more_needed == result.required_n - 20


def test_enough_turns_and_a_real_difference_make_a_call() -> None:
    worse = compare(Proportion(50, 1000), Proportion(120, 1000), higher_is_better=False)
    assert worse.significant and worse.verdict.startswith("worse")
    better = compare(Proportion(500, 2000), Proportion(600, 2000), higher_is_better=True)
    assert better.significant and better.verdict.startswith("better")


def test_enough_turns_without_a_difference_is_still_too_early() -> None:
    same = compare(Proportion(100, 1000), Proportion(104, 1000), higher_is_better=True)
    assert not same.significant
    assert "no significant difference" in same.verdict


def test_no_data_is_no_evidence() -> None:
    test = two_proportion_z_test(Proportion(0, 0), Proportion(3, 10))
    assert (test.z, test.p_value) == (0.0, 1.0)
    assert two_proportion_z_test(Proportion(0, 10), Proportion(0, 10)).p_value == 1.0


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.7, 1.0])
def test_the_largest_allowed_effect_has_room_at_every_baseline_rate(rate: float) -> None:
    assert required_sample_size(rate, 0.5) >= 1
    assert compare(Proportion(0, 0), Proportion(0, 0), higher_is_better=True, mde=0.5).more_needed


def test_an_effect_no_rate_can_move_by_is_a_clear_error_not_a_math_domain_error() -> None:
    with pytest.raises(ValueError, match=r"cannot move by 0\.9 either way"):
        required_sample_size(0.3, 0.9)
