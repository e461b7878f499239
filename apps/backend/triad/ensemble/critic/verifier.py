"""A learned verifier: does this evidence support this claim? A MiniLM cross-encoder.

The hand-written checks settle numbers, money, lists and denials; what they cannot settle is
a paraphrase ("9 in the morning until 9 at night", "comes with", "the rest is paid on the
day"). The cross-encoder reads evidence and claim together and returns the probability that
the evidence supports the claim. It starts from the packaged all-MiniLM-L6-v2 weights; its
encoder layers, pooler and a one-logit head were fine-tuned (`scripts/train_verifier.py`,
data and provenance in `data/verifier/`) while the word embeddings stayed frozen, so the
repository ships just the tuned tensors (fp16, about 22 MB) and the embeddings are read from
the weights package, offline.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from triad.ensemble.critic.models import ClaimVerdict, CriticConfig
from triad.errors import ConfigurationError
from triad.knowledge.embedding import packaged_model_path
from triad.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MAX_LENGTH = 128
"""Word pieces of evidence and claim together; evidence is cut first."""
TRAINABLE_LAYERS = 6
"""Encoder layers fine-tuned, counted from the top (with the pooler and head); 6 is all of
them, the frozen rest being the packaged word embeddings (3 layers fitted too loosely)."""
DELTA_FILE = "verifier.safetensors"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "data" / "verifier" / "model"
MODEL_DIR_ENV = "TRIAD_VERIFIER_MODEL"

log = logging.getLogger(__name__)

VerifyFn = Callable[[Sequence[tuple[str, str]]], NDArray[np.float32]]
"""(evidence, claim) pairs -> the probability that each evidence supports its claim."""


def trainable(name: str, layers: int = TRAINABLE_LAYERS, total: int = 6) -> bool:
    """Parameters fine-tuned (and shipped): the top `layers` encoder layers, pooler, head."""
    if name.startswith(("classifier.", "bert.pooler.")):
        return True
    return any(name.startswith(f"bert.encoder.layer.{k}.") for k in range(total - layers, total))


def base_model(base: Path | None = None) -> tuple[Any, Any]:
    """Tokenizer and a one-logit sequence classifier over the packaged MiniLM weights."""
    try:
        transformers = importlib.import_module("transformers")
    except ImportError as exc:  # pragma: no cover - a dependency of sentence-transformers
        raise ConfigurationError("transformers is not installed: run `make install`") from exc
    importlib.import_module("transformers.utils.logging").set_verbosity_error()
    path = str(base or packaged_model_path())
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=1, local_files_only=True
    )
    return tokenizer, model


def model_dir() -> Path:
    """Where the fine-tuned tensors live: $TRIAD_VERIFIER_MODEL or data/verifier/model."""
    override = os.environ.get(MODEL_DIR_ENV, "").strip()
    return Path(override) if override else DEFAULT_MODEL_DIR


class Verifier:
    """Scores (evidence, claim) pairs in one batch; scores are kept (bounded) by pair, since
    the same claims come back when an answer is judged alone and in its pair."""

    def __init__(self, directory: Path | None = None, cache_size: int = 4096) -> None:
        directory = directory or model_dir()
        delta = directory / DELTA_FILE
        if not delta.is_file():
            raise ConfigurationError(
                f"no verifier weights at {delta}: run `.venv/bin/python scripts/train_verifier.py`"
            )
        torch = importlib.import_module("torch")
        load_file = importlib.import_module("safetensors.torch").load_file
        self._torch = torch
        self._tokenizer, self._model = base_model()
        state = {k: v.float() for k, v in load_file(str(delta)).items()}
        missing = [k for k, _ in self._model.named_parameters() if trainable(k) and k not in state]
        if missing:
            raise ConfigurationError(f"verifier weights at {delta} lack {missing[0]}")
        self._model.load_state_dict(state, strict=False)
        self._model.eval()
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._max = cache_size
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> NDArray[np.float32]:
        """P(supported) per pair; only pairs not seen before reach the model, in one batch."""
        with self._lock:
            known = {p: self._cache[p] for p in pairs if p in self._cache}
            todo = list(dict.fromkeys(p for p in pairs if p not in known))
            if todo:
                self.calls += 1
                known.update(zip(todo, self._score(todo), strict=True))
                for p in todo:
                    self._cache[p] = known[p]
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        return np.asarray([known[p] for p in pairs], dtype=np.float32)

    def _score(self, pairs: list[tuple[str, str]]) -> list[float]:
        batch = self._tokenizer(
            [e for e, _ in pairs],
            [c for _, c in pairs],
            truncation="only_first",
            max_length=MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        with self._torch.inference_mode():
            logits = self._model(**batch).logits.reshape(-1)
        return [float(x) for x in self._torch.sigmoid(logits).tolist()]


@lru_cache(maxsize=1)
def get_verifier() -> Verifier:
    """The process-wide verifier; loading takes a second or two once."""
    return Verifier()


@lru_cache(maxsize=1)
def load_verifier() -> VerifyFn | None:
    """The process-wide verifier, or None (said once in the log) when it cannot load: the
    critic then keeps the rules' verdicts, which are stricter, never looser."""
    try:
        return get_verifier()
    except (ConfigurationError, OSError) as exc:
        log.warning("learned verifier unavailable, rules only: %s", exc)
        return None


WORDING = ("adds what the evidence does not say", "no evidence sentence says this")
"""The rules' verdicts that judge wording, not facts: the ones the verifier may overturn."""


def wording_only(v: ClaimVerdict) -> bool:
    """An unsupported verdict the rules reached only because the words differ."""
    return v.status == "unsupported" and v.reason.startswith(WORDING)


def ties_values(v: ClaimVerdict, facts: int, entities: int) -> bool:
    """A supported claim that states a value or names something, not word for word: where an
    item swapped for another passes every check that looks at words and values one at a
    time ("Edamame is $10 an order, the same as gyoza")."""
    return v.status == "supported" and facts + entities > 0 and "word for word" not in v.reason


def second_opinion(
    verify: VerifyFn, asked: Sequence[tuple[ClaimVerdict, list[str]]], config: CriticConfig
) -> list[ClaimVerdict]:
    """Each claim against each of its candidate sentences and against them read together
    (two facts of one claim may sit in two sentences), in one batch. A claim the rules failed
    for its wording passes at `config.verifier_support`; a claim they passed fails below
    `config.verifier_veto`; every other claim keeps the rules' verdict."""
    pairs: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []
    for v, sentences in asked:
        start = len(pairs)
        pairs += [(s, v.text) for s in sentences]
        if len(sentences) > 1:
            pairs.append((" ".join(sentences[:3]), v.text))
        spans.append((start, len(pairs)))
    probs = verify(pairs) if pairs else np.zeros(0, dtype=np.float32)
    out = []
    for (v, _), (start, end) in zip(asked, spans, strict=True):
        if end == start:
            out.append(v)
            continue
        best = start + int(np.argmax(probs[start:end]))
        p = float(probs[best])
        if v.status == "supported" and p < config.verifier_veto:
            reason = f"the learned verifier finds no evidence that says this (p={p:.2f})"
            update = {"status": "unsupported", "reason": reason, "material": True}
        elif v.status != "supported" and p >= config.verifier_support:
            reason = f"the learned verifier finds the evidence says this (p={p:.2f})"
            update = {"status": "supported", "reason": reason}
        else:
            out.append(v)
            continue
        evidence = pairs[best][0]
        update |= {"evidence": evidence if len(evidence) <= 300 else evidence[:299] + "\u2026",
                   "support": round(p, 4)}  # fmt: skip
        out.append(v.model_copy(update=update))
    return out
