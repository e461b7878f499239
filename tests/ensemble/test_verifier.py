"""The learned verifier: loads offline, overturns wording-only failures, catches swaps, trains."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from triad.ensemble.critic import CriticConfig, GroundedCritic
from triad.ensemble.critic.verifier import DELTA_FILE, Verifier, get_verifier, load_verifier
from triad.settings import PROJECT_ROOT

MENU = [
    "Every adult and child plate includes a garden salad with ginger dressing, hibachi fried "
    "rice, grilled seasonal vegetables (zucchini, onion, mushroom, broccoli) and two proteins "
    "of the guest's choice.",
    "Gyoza (6 pieces) is an add-on at $10 per order.",
    "Edamame is an add-on at $5 per order.",
    "The balance is paid on the day of the event, by card or cash.",
    "Sacramento, Davis and Folsom are in the free 30-mile zone.",
    "Stockton (about 48 miles) is in range with a travel fee of $2 per mile beyond the first "
    "30 miles.",
]
PARAPHRASE = "The rest is paid on the day of the event, by card or cash."
SWAP = "Stockton is in the free 30-mile zone."


class Scripted:
    """A fake verifier: a fixed probability per claim text, and every pair it was asked."""

    def __init__(self, probability: dict[str, float]) -> None:
        self.probability = probability
        self.asked: list[tuple[str, str]] = []

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> NDArray[np.float32]:
        self.asked += pairs
        return np.asarray([self.probability.get(c, 0.5) for _, c in pairs], dtype=np.float32)


def verdict(critic: GroundedCritic, answer: str, question: str = "What do I get?") -> str:
    v = critic.evaluate(question, {"answer": answer}, MENU).verdicts["answer"]
    return v.claims[0].status


def test_only_wording_failures_reach_the_verifier_and_it_decides_them() -> None:
    fake = Scripted({PARAPHRASE: 0.97})
    assert verdict(GroundedCritic(), PARAPHRASE) == "unsupported"
    assert verdict(GroundedCritic(verify=fake), PARAPHRASE) == "supported"
    assert {c for _, c in fake.asked} == {PARAPHRASE}
    # a wrong price stays the number check's to decide, whatever the verifier would say
    fake = Scripted({"Gyoza is $12 per order.": 0.99})  # the rules decide numbers
    assert verdict(GroundedCritic(verify=fake), "Gyoza is $12 per order.") == "contradicted"
    assert fake.asked == []


def test_a_doubtful_verifier_keeps_the_rules_verdict() -> None:
    fake = Scripted({PARAPHRASE: 0.6})
    assert verdict(GroundedCritic(verify=fake), PARAPHRASE) == "unsupported"


def test_missing_weights_leave_the_rules_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAD_VERIFIER_MODEL", str(tmp_path))
    get_verifier.cache_clear()
    load_verifier.cache_clear()
    try:
        assert load_verifier() is None
        critic = GroundedCritic(config=CriticConfig(verifier=True))
        assert verdict(critic, PARAPHRASE) == "unsupported"
    finally:
        get_verifier.cache_clear()
        load_verifier.cache_clear()


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return get_verifier()


def test_the_packaged_verifier_loads_offline(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (PROJECT_ROOT / "data" / "verifier" / "model" / DELTA_FILE).is_file()
    p = verifier([(MENU[1], "Gyoza is ten dollars an order."), (MENU[1], "Gyoza is free.")])
    assert p.shape == (2,)
    assert p[0] > 0.5 > p[1]


def test_the_verifier_supports_a_paraphrase_the_rules_alone_flag(verifier: Verifier) -> None:
    assert verdict(GroundedCritic(), PARAPHRASE) == "unsupported"
    assert verdict(GroundedCritic(verify=verifier), PARAPHRASE) == "supported"
    calls = verifier.calls
    verdict(GroundedCritic(verify=verifier), PARAPHRASE)
    assert verifier.calls == calls  # the pairs were cached


def test_a_veto_flags_a_swapped_entity_the_rules_pass() -> None:
    """The mechanism, with a scripted verifier: the shipped model does not separate swapped
    entities from true ones well enough to veto (see data/verifier/README.md)."""
    question = "Is Stockton free?"
    assert verdict(GroundedCritic(), SWAP, question) == "supported"
    fake = Scripted({SWAP: 0.02})
    strict = GroundedCritic(verify=fake, config=CriticConfig(verifier_veto=0.1))
    assert verdict(strict, SWAP, question) == "unsupported"
    assert verdict(GroundedCritic(verify=fake), SWAP, question) == "supported"  # veto off


def test_the_training_script_runs_end_to_end_on_a_tiny_sample(tmp_path: Path) -> None:
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    import train_verifier

    code = train_verifier.main(
        ["--out", str(tmp_path), "--limit", "8", "--epochs", "1", "--rounds", "1"]
    )
    assert code == 0
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    assert {r["label"] for r in rows} <= {0, 1}
    assert all(r["evidence"] and r["claim"] for r in rows)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["train_pairs"] == 8
    assert (tmp_path / "model" / DELTA_FILE).stat().st_size < 30_000_000
