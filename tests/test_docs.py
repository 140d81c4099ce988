"""The documentation: the site builds offline with no warning, the README is one page, and its
layout says what the import contracts check."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_the_site_builds_offline_with_no_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("WorkspaceRollout")
    assert (tmp_path / "site" / "figures" / "learning.png").is_file()


def test_the_readme_is_one_page_whose_links_lead_somewhere():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links and all((ROOT / link).exists() for link in links), links


def layers_in_readme() -> list[str]:
    """The numbered layers of the README's layout, top first, as import-linter writes them."""
    layers = []
    for line in README.read_text().splitlines():
        match = re.match(r"\s+\d+\. ([a-z_ |]+?)(?:\s{2,}|$)", line)
        if match:
            names = [name.strip() for name in match.group(1).split("|")]
            layers.append(" | ".join(f"robolearn.{name}" for name in names))
    return layers


def test_the_readme_layout_and_the_import_contracts_say_the_same():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert layers_in_readme() == contract["layers"]
