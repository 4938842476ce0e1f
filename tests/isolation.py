"""What importing something loads, seen from a fresh interpreter (the test process has
everything loaded already). Shared by the import-isolation tests of every layer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_after(statement: str) -> set[str]:
    """Every module name in ``sys.modules`` after running ``statement`` in a new interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(result.stdout))


def top_level(modules: set[str]) -> set[str]:
    """The distribution-level names of ``modules`` (``textual.app`` -> ``textual``)."""
    return {name.split(".")[0] for name in modules}
