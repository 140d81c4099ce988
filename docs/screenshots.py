"""The dashboard pictures of the README and the site, from the browser test's screenshots.

    python -m pytest tests/test_dashboard_browser.py    # writes test-artifacts/dashboard/
    python docs/screenshots.py                          # scales and crops them into docs/img/

The pictures are what the teach-and-see story showed the last time it ran, so they change
when the pages do; nothing is drawn by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "dashboard"
OUT = ROOT / "docs" / "img"
WIDTH = 1100
"""Pixels wide: legible on GitHub's README column and the site, a quarter of the bytes."""
PICTURES = {
    "dashboard-correct": ("2-correct-saved", 1250),
    "dashboard-run": ("3-run-does-what-was-taught", 720),
    "dashboard-episodes": ("page-episodes", 820),
    "dashboard-progress": ("page-progress", 820),
}
"""Each picture: the screenshot it comes from, and the height it keeps (scaled pixels)."""


def main() -> int:
    """Write every picture; 1 with a line on stderr when a screenshot is missing."""
    missing = [name for name, _ in PICTURES.values() if not (SHOTS / f"{name}.png").is_file()]
    if missing:
        print(
            f"no screenshot {', '.join(missing)} in {SHOTS}: run "
            "python -m pytest tests/test_dashboard_browser.py first",
            file=sys.stderr,
        )
        return 1
    OUT.mkdir(exist_ok=True)
    for picture, (shot, height) in PICTURES.items():
        image = Image.open(SHOTS / f"{shot}.png").convert("RGB")
        scaled = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
        scaled.crop((0, 0, WIDTH, min(height, scaled.height))).save(
            OUT / f"{picture}.png", optimize=True
        )
        print(OUT / f"{picture}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
