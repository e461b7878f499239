"""The benchmark scripts are not a package: put their folder on the path to import them."""

from __future__ import annotations

import sys

from triad.settings import PROJECT_ROOT

SCRIPTS = str(PROJECT_ROOT / "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
