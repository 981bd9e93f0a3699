"""Write the glossary's `avoid` spellings as a prh rule file for textlint.

The glossary (docs/_data/glossary.yml) is the single source of the spellings a
term must not take; `make lint` calls this before textlint, which reads the output
next to docs/_data/terms.prh.yml (.textlintrc.yml).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "build" / "glossary.prh.yml"


def rules() -> list[dict]:
    terms = yaml.safe_load((ROOT / "docs" / "_data" / "glossary.yml").read_text(encoding="utf-8"))
    return [{"expected": term["ja"], "patterns": term["avoid"]} for term in terms if term.get("avoid")]


def main() -> int:
    OUTPUT.parent.mkdir(exist_ok=True)
    header = "# Generated from docs/_data/glossary.yml by tests/tools/glossary_prh.py; do not edit.\n"
    OUTPUT.write_text(header + yaml.safe_dump({"version": 1, "rules": rules()}, allow_unicode=True), encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(rules())} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
