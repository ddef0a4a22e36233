"""The README's pictures are made by `tests/readme_images.py` from the real bot: the script
must keep working as the screens change, and the README must show what it makes."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from storage.db import Database
from tests.readme_images import OUT, ROOT, make_all

NAMES = ["add.png", "ptl-card.png", "digest.png", "stats-chart.png", "portfolio.png"]


async def test_the_script_makes_every_picture(db: Database, tmp_path: Path) -> None:
    written = await make_all(db, tmp_path)
    assert [p.name for p in written] == NAMES
    for path in written:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
            assert width >= 500 and height >= 300, path.name
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
            assert len(colours) > 50, path.name  # drawn, not a blank canvas


def test_the_readme_shows_them_near_the_top() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"\(docs/images/([\w.-]+\.png)\)", readme)
    assert set(NAMES) <= set(shown)
    first = readme.index("docs/images/")
    assert first < readme.index("## Configuration")
    for name in NAMES:
        assert (OUT / name).is_file(), name
