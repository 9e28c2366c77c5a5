"""The README is read on a fresh clone: every file it links to must be in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_relative_link_in_the_readme_names_a_file_of_the_repository():
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", README) if "://" not in t]
    assert targets, "the README links to its docs"
    missing = [t for t in targets if t and not (ROOT / t).resolve().is_relative_to(ROOT)]
    missing += [t for t in targets if t and not (ROOT / t).exists()]
    assert not missing, f"links outside the repository or to missing files: {missing}"


def test_the_readme_names_no_path_outside_the_repository():
    assert not re.findall(r"`\.\./[^`]*`", README)
