"""The packaged MiniLM gives 384-dimension unit vectors that put paraphrases close together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triad.errors import ConfigurationError
from triad.knowledge.embedding import Embedder, get_embedder, packaged_model_path


def test_vectors_have_384_dimensions_and_unit_length(embedder: Embedder) -> None:
    assert embedder.dimension == 384
    assert embedder.max_tokens == 256
    vectors = embedder.embed(["How much is the deposit?", "Do you serve wagyu?", ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(embedder: Embedder) -> None:
    question, paraphrase, unrelated = embedder.embed(
        [
            "How much is the deposit to book an event?",
            "What does it cost to reserve a date?",
            "The grill must be used outdoors.",
        ]
    )
    assert float(question @ paraphrase) > float(question @ unrelated) + 0.1


def test_embed_one_agrees_with_embed(embedder: Embedder) -> None:
    texts = ["Lobster tail is a premium upgrade.", "We cannot cook indoors."]
    batch = embedder.embed(texts)
    one = embedder.embed_one(texts[1])
    assert one.shape == (384,)
    np.testing.assert_allclose(one, batch[1], atol=1e-5)


async def test_aembed_runs_off_the_event_loop(embedder: Embedder) -> None:
    texts = ["Sacramento is in the free zone."]
    np.testing.assert_allclose(await embedder.aembed(texts), embedder.embed(texts), atol=1e-6)


def test_empty_input_and_a_bare_string(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(TypeError, match="embed_one"):
        embedder.embed("a string is not a list of texts")


def test_the_embedder_is_shared_per_process() -> None:
    assert get_embedder() is get_embedder()


def test_a_missing_model_package_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pip install triad-no-such-model"):
        packaged_model_path("triad_no_such_model")
    with pytest.raises(ConfigurationError, match=r"modules\.json"):
        Embedder(tmp_path)
    with pytest.raises(ConfigurationError, match="batch_size"):
        Embedder(batch_size=0)
