"""Print pip constraints pinning every runtime dependency to its declared floor.

CI installs these into a second environment and runs tests against them, so the floors
in pyproject.toml are versions that work, not guesses (cryptography 42 and fpdf2 < 2.7.4
once passed the floors and crashed). Extras other than test/dev count as runtime.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def main() -> int:
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra, items in project.get("optional-dependencies", {}).items():
        if extra not in ("test", "dev"):
            requirements.extend(items)
    for requirement in requirements:
        found = _FLOOR.match(requirement)
        if found is None:
            print(f"no >= floor in {requirement!r}", file=sys.stderr)
            return 1
        print(f"{found[1]}=={found[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
