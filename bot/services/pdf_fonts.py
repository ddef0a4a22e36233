"""Fonts for PDFs that can set any name a student has: no boxes for non-Latin scripts.

Why these fonts: a name can be written in any script, and a portfolio that prints "□□□" for
a student's name is worse than none. The body face is DejaVu Sans (regular and bold), which
ships inside matplotlib (already a dependency, and the chart's own face) and covers Latin,
Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic. For every other script the text is
set in Noto: the `manimgx-fonts` package ships Noto Sans for Devanagari, Bengali, Tamil,
Telugu, Thai, Ethiopic and a dozen more, and `noto-cjk-sans-jp-regular` ships Noto Sans CJK
(Chinese, Japanese, Korean). All are OFL fonts installed from PyPI by `pip install`, so CI
and every machine get the same glyphs.

Why a plan per document: registering a font with fpdf2 costs parsing time, and the CJK
font is 16 MB. Each document registers only the fallback fonts its text needs, each limited
to the characters it must supply (`unicode_range`), so a Latin-only portfolio costs nothing
extra and a CJK name costs a few hundred milliseconds rather than seconds.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

__all__ = [
    "FontPlan",
    "body_font",
    "bold_font",
    "missing_characters",
    "needs_shaping",
    "plan_fonts",
    "warm_up",
]

_IGNORED: Final = frozenset({0x09, 0x0A, 0x0D, 0x20, 0xA0, 0x200B, 0x200C, 0x200D, 0xFE0F})
"""Whitespace and joiners: set by the shaper, never drawn as glyphs of their own."""
_SKIPPED_NOTO: Final = frozenset(
    {"NotoSans-Italic[wght].ttf", "NotoEmoji[wght].ttf", "NotoSansSymbols[wght].ttf"}
)
_lock = threading.Lock()
# fontTools reports every table it leaves out of a cut font (FFTM, a FontForge timestamp) as
# a warning; nothing is wrong, so keep it out of the bot's logs.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


def _matplotlib_font(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


BODY_RANGES: Final = (
    (0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x214F),
    (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF), (0x2713, 0x2717),
)  # fmt: skip
"""What the body face is cut down to: Latin (with every European accent), punctuation and
the symbols the PDF uses. fpdf2 reads a whole font for every document, and all of DejaVu
(6,000 glyphs) takes about a second to read; this cut takes a tenth of that. Everything
else (Greek, Cyrillic, Arabic, ...) is set in Noto, the same as other scripts."""


@functools.cache
def _body() -> tuple[Path, Path]:
    """DejaVu Sans and DejaVu Sans Bold cut to BODY_RANGES, once per process (a temporary
    folder of the process's own: the cut depends only on the installed fonts)."""
    import tempfile

    from fontTools import subset

    folder = Path(tempfile.mkdtemp(prefix="ptl-fonts-"))
    unicodes = [c for lo, hi in BODY_RANGES for c in range(lo, hi + 1)]
    out = []
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        with _lock:
            font = subset.load_font(str(_matplotlib_font(name)), options)
            cutter = subset.Subsetter(options)
            cutter.populate(unicodes=unicodes)
            cutter.subset(font)
            target = folder / name
            subset.save_font(font, str(target), options)
        out.append(target)
    return out[0], out[1]


def body_font() -> Path:
    return _body()[0]


def bold_font() -> Path:
    return _body()[1]


@functools.cache
def _fallbacks() -> tuple[Path, ...]:
    """Fallback fonts, in the order they are tried: Noto Sans (Latin extras), each Noto
    script font, Noto Sans CJK, then Noto Sans Symbols."""
    noto = Path(str(resources.files("manimgx_fonts")))
    cjk = Path(str(resources.files("noto_cjk_sans_jp_regular"))) / "NotoSansCJKjp-Regular.otf"
    scripts = sorted(
        p
        for p in noto.glob("NotoSans*.ttf")
        if p.name not in _SKIPPED_NOTO and p.name != "NotoSans[wght].ttf"
    )
    return (noto / "NotoSans[wght].ttf", *scripts, cjk, noto / "NotoSansSymbols[wght].ttf")


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with _lock, TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@dataclass(frozen=True, slots=True)
class FontPlan:
    """The fallback fonts one document needs: (file, the characters it supplies)."""

    fallbacks: tuple[tuple[Path, tuple[int, ...]], ...]
    missing: tuple[str, ...]
    """Characters no font has (drawn as a box): empty for any real name."""


def plan_fonts(texts: Iterable[str]) -> FontPlan:
    needed = {ord(c) for t in texts for c in t} - _IGNORED
    needed -= _cmap(body_font()) & _cmap(bold_font())
    chosen: list[tuple[Path, tuple[int, ...]]] = []
    for path in _fallbacks():
        if not needed:
            break
        supplied = needed & _cmap(path)
        if supplied:
            chosen.append((path, tuple(sorted(supplied))))
            needed -= supplied
    return FontPlan(tuple(chosen), tuple(sorted(chr(c) for c in needed)))


def missing_characters(text: str) -> str:
    """Characters of `text` that no bundled font can draw ("" for any real name)."""
    return "".join(plan_fonts([text]).missing)


def needs_shaping(text: str) -> bool:
    """True when `text` has characters whose shapes depend on their neighbours (Arabic,
    Indic, Thai, ...): only such text is worth HarfBuzz's time."""
    return any(ord(c) >= 0x0590 and ord(c) not in _IGNORED for c in text)


def warm_up() -> None:
    """Cut the body face and read every font's character map once (about a second), off
    the event loop, so the first /portfolio is as quick as the rest."""
    for path in (body_font(), bold_font(), *_fallbacks()):
        _cmap(path)
