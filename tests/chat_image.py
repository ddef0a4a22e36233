"""Draw a chat transcript from the offline Bot API as a phone-sized PNG (for the README).

Why our own drawing: the README's pictures must show what the bot really says, so they are
made from real transcripts (`tests/readme_images.py` drives the real Application through
the offline Bot API) and redrawn whenever that script runs; a screenshot taken by hand
would drift from the code. Bubbles follow Telegram's layout: the student's messages on the
right, the bot's on the left with its inline buttons underneath. Bold and italic come from
the message's HTML; emoji are drawn from Noto Emoji (monochrome), other scripts from the
same Noto fonts the PDF uses.
"""

from __future__ import annotations

import html.parser
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from bot.runtime.offline import SentMessage
from bot.services import pdf_fonts

WIDTH = 540
PAD = 14
BUBBLE_MAX = 430
FONT_SIZE = 17
LINE = 23
BG = (220, 231, 240)
BOT_BUBBLE = (255, 255, 255)
USER_BUBBLE = (225, 255, 199)
BUTTON = (238, 244, 250)
INK = (33, 43, 50)
BUTTON_INK = (0, 94, 184)
GREY = (110, 120, 130)


@dataclass(frozen=True)
class Said:
    """A student's message."""

    text: str


Entry = Said | SentMessage


@cache
def _fonts() -> list[tuple[frozenset[int], Path]]:
    """Fonts in fallback order, each with the characters it has."""
    import manimgx_fonts

    noto = Path(manimgx_fonts.__file__).parent
    paths = [
        pdf_fonts._matplotlib_font("DejaVuSans.ttf"),
        noto / "NotoEmoji[wght].ttf",
        noto / "NotoSansSymbols[wght].ttf",
        *pdf_fonts._fallbacks(),
    ]
    out = []
    for p in paths:
        with TTFont(p, lazy=True) as f:
            out.append((frozenset(f.getBestCmap() or {}), p))
    return out


@cache
def _font(path: Path, bold: bool) -> ImageFont.FreeTypeFont:
    if bold and path.name == "DejaVuSans.ttf":
        path = pdf_fonts._matplotlib_font("DejaVuSans-Bold.ttf")
    return ImageFont.truetype(str(path), FONT_SIZE)


def _font_for(ch: str) -> Path:
    code = ord(ch)
    for cmap, path in _fonts():
        if code in cmap:
            return path
    return _fonts()[0][1]


class _Runs(html.parser.HTMLParser):
    """Telegram HTML to (text, bold, italic) runs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[tuple[str, bool, bool]] = []
        self.bold = self.italic = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.bold += tag in ("b", "strong")
        self.italic += tag in ("i", "em")

    def handle_endtag(self, tag: str) -> None:
        self.bold -= tag in ("b", "strong")
        self.italic -= tag in ("i", "em")

    def handle_data(self, data: str) -> None:
        self.runs.append((data, self.bold > 0, self.italic > 0))


def _runs(message: Entry) -> list[tuple[str, bool, bool]]:
    if isinstance(message, Said):
        return [(message.text, False, False)]
    if message.html:
        parser = _Runs()
        parser.feed(message.html)
        return parser.runs
    return [(message.text, False, False)]


def _width(text: str, bold: bool) -> float:
    return sum(
        FONT_SIZE + 1 if c in DISCS else _font(_font_for(c), bold).getlength(c)
        for c in text
        if c not in INVISIBLE
    )


def _wrap(runs: list[tuple[str, bool, bool]], width: int) -> list[list[tuple[str, bool, bool]]]:
    """Lines of runs that fit `width`, broken at spaces (a run keeps its own spaces)."""
    lines: list[list[tuple[str, bool, bool]]] = [[]]
    used = 0.0
    for text, bold, italic in runs:
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append([])
                used = 0.0
            for token in re.split(r"( )", part):
                if not token:
                    continue
                w = _width(token, bold)
                if used + w > width and used > 0:
                    lines.append([])
                    used = 0.0
                    if token == " ":
                        continue
                lines[-1].append((token, bold, italic))
                used += w
    return lines


DISCS = {"🔴": (213, 40, 27), "🟠": (237, 139, 0), "🟢": (0, 127, 59), "⚪": (174, 183, 189),
         "⚫": (66, 84, 98)}  # fmt: skip
"""Status marks drawn as coloured discs (the emoji font is monochrome)."""
INVISIBLE = frozenset("\ufe0f\u200d")


def _draw_line(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    line: Sequence[tuple[str, bool, bool]],
    ink: tuple[int, int, int],
) -> None:
    for text, bold, italic in line:
        for ch in text:
            if ch in INVISIBLE:
                continue
            font = _font(_font_for(ch), bold)
            if ch in DISCS:
                size = FONT_SIZE - 3
                draw.ellipse((x + 1, y + 4, x + 1 + size, y + 4 + size), fill=DISCS[ch])
                x += size + 4
                continue
            draw.text((x, y), ch, font=font, fill=GREY if italic else ink)
            x += font.getlength(ch)


def render(entries: Sequence[Entry], title: str) -> Image.Image:
    """The transcript as a chat screen, top to bottom."""
    blocks: list[tuple[Entry, list[list[tuple[str, bool, bool]]], int]] = []
    height = 56
    for entry in entries:
        lines = _wrap(_runs(entry), BUBBLE_MAX - 2 * PAD)
        rows = entry.buttons if isinstance(entry, SentMessage) else []
        block = len(lines) * LINE + 2 * PAD - 6 + len(rows) * 42
        if isinstance(entry, SentMessage) and entry.kind in ("photo", "document"):
            block += 36
        blocks.append((entry, lines, block))
        height += block + 12
    image = Image.new("RGB", (WIDTH, height + 10), BG)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 44), fill=(0, 94, 184))
    _draw_line(draw, PAD, 11, [(title, True, False)], (255, 255, 255))
    y = 56
    for entry, lines, block in blocks:
        mine = isinstance(entry, Said)
        text_w = max((sum(_width(t, b) for t, b, _ in line) for line in lines), default=0)
        rows = [] if mine else entry.buttons  # type: ignore[union-attr]
        bubble_w = min(BUBBLE_MAX, int(text_w) + 2 * PAD) if mine else BUBBLE_MAX
        x0 = WIDTH - PAD - bubble_w if mine else PAD
        text_h = len(lines) * LINE + 2 * PAD - 6
        if isinstance(entry, SentMessage) and entry.kind in ("photo", "document"):
            text_h += 36
        draw.rounded_rectangle((x0, y, x0 + bubble_w, y + text_h), 12,
                               fill=USER_BUBBLE if mine else BOT_BUBBLE)  # fmt: skip
        ty = y + PAD - 2
        if isinstance(entry, SentMessage) and entry.kind in ("photo", "document"):
            icon = "🖼" if entry.kind == "photo" else "📄"
            _draw_line(draw, x0 + PAD, ty, [(f"{icon} {entry.file_name or ''}", True, False)],
                       BUTTON_INK)  # fmt: skip
            ty += 36
        for line in lines:
            _draw_line(draw, x0 + PAD, ty, line, INK)
            ty += LINE
        by = y + text_h + 4
        for row in rows:
            n = len(row)
            bw = (BUBBLE_MAX - 4 * (n - 1)) / n
            for i, button in enumerate(row):
                bx = x0 + i * (bw + 4)
                draw.rounded_rectangle((bx, by, bx + bw, by + 38), 8, fill=BUTTON)
                label = button.text
                while _width(label, False) > bw - 12 and len(label) > 3:
                    label = label[:-2] + "…"
                lx = bx + (bw - _width(label, False)) / 2
                _draw_line(draw, lx, by + 9, [(label, False, False)], BUTTON_INK)
            by += 42
        y += block + 12
    return image
