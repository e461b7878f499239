"""The API fixtures (real app, runtime, client, demo knowledge) for the dialogue tests.

The embedding model is loaded before the app is imported: pygal (imported by the console's
charts) installs an import hook that makes the first `import regex` warn, and warnings are
errors in tests; loading the model at collection time keeps that import outside any test.
"""

from triad.knowledge.embedding import get_embedder

get_embedder()

from tests.api.conftest import app, client, demo, runtime  # noqa: E402

__all__ = ["app", "client", "demo", "runtime"]
