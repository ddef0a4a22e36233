"""/portfolio: the student picks what it shows, gets a PDF; the PDF is read back (pypdf) for
its figures and rendered (pdfium) to check page 1 draws; names in any script print."""

from __future__ import annotations

import io
import re

import pypdf
import pypdfium2 as pdfium
import pytest

from bot.messages import my_progress as figures_text
from bot.messages import portfolio as text
from bot.services import pdf_fonts
from bot.services.portfolio import PortfolioChoices, portfolio_pdf
from bot.services.progress import StudentRecordService
from handlers.portfolio import clean_name
from tests.harness import TODAY, Bot
from tests.progress_support import EMAIL, expected, write_history
from tests.test_my_progress import _exercise_with_quiz

NAMES = [
    "Siobhán Ní Bhriain", "Zoë Łukasiewicz-Øster", "Ελένη Παπαδοπούλου", "Сергей Иванов",
    "محمد عبد الله", "דוד כהן", "प्रिया शर्मा", "আমিনা খাতুন", "தமிழ்செல்வி", "สมชาย ใจดี",
    "王小明", "山田 太郎", "김민준", "Արամ", "ნინო", "አበበ", "Nguyễn Thị Hương",
]  # fmt: skip


def pdf_text(data: bytes) -> str:
    """The PDF's text layer, whitespace folded (pypdf puts NULs and spaces between the
    glyphs of a CJK font)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    raw = " ".join(page.extract_text() for page in reader.pages).replace("\x00", "")
    return " ".join(raw.split())


def squashed(value: str) -> str:
    return re.sub(r"\s+", "", value)


def render_page_one(data: bytes) -> tuple[int, int, float]:
    """Page 1 as pixels: (width, height, share of non-white pixels)."""
    page = pdfium.PdfDocument(data)[0]
    image = page.render(scale=1).to_pil().convert("L")
    ink = sum(image.histogram()[:200]) / (image.width * image.height)
    return image.width, image.height, ink


@pytest.mark.parametrize("name", NAMES)
def test_every_script_has_a_font(name: str) -> None:
    assert pdf_fonts.missing_characters(name) == ""


async def test_portfolio_from_the_chat_has_the_figures_in_its_text_layer(bot: Bot) -> None:
    await write_history(bot.services.db)
    await _exercise_with_quiz(bot.services.db, EMAIL)
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    sam = bot.user(901)
    (options,) = await sam.send("/portfolio")
    assert "Name shown: Sam" in options.text and "Email shown: not shown" in options.text
    await sam.press(text.EMAIL_SHOW)
    await sam.press(text.NAME_BUTTON)
    (options,) = await sam.send("  Zoë   Ōkubo 王小明 ")
    assert "Name shown: Zoë Ōkubo 王小明" in options.text
    assert f"Email shown: {EMAIL}" in options.text
    replies = await sam.press(text.MAKE)
    document = replies[-1]
    assert document.kind == "document" and document.file_name == "ptl-portfolio-2025-03-03.pdf"
    data = document.file_bytes or b""
    assert data.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) <= 2
    layer = pdf_text(data)
    assert "Zoë Ōkubo" in layer and "王小明" in squashed(layer) and EMAIL in layer
    assert "Period: 1 Sep 2024 to 3 Mar 2025" in layer
    want = expected(recent=False)
    for key in ("added", "updated", "events", "stopped_in_time", "stopped_late"):
        assert f"{figures_text.FIGURE_LABELS_THIRD_PERSON[key]} {want[key]}" in layer, key
    assert f"Breaches let happen {want['breach_let_happen']}" in layer
    assert "18-week triage 11 Feb 2025 1 of 2" in layer
    assert "18-week RTT" in layer and "Cancer 62-day referral to treatment" in layer
    assert "Every patient in it is fictional" in layer
    width, height, ink = render_page_one(data)
    assert abs(width - 595) <= 1 and abs(height - 842) <= 1  # A4, in points
    assert 0.02 < ink < 0.5  # drawn: neither blank nor a black page


async def test_the_name_chosen_and_the_period(bot: Bot) -> None:
    await write_history(bot.services.db)
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    sam = bot.user(901)
    await sam.send("/portfolio")
    await sam.press(text.PERIOD_TO_RECENT)
    await sam.press(text.NAME_BUTTON)
    (reply,) = await sam.send("x" * 81)
    assert "1 to 80 characters" in reply.text
    (reply,) = await sam.send("Ada\u200e\u0007Lovelace")
    assert "hidden control characters" in reply.text  # refused, as at every form step
    await sam.send("Ada Lovelace")
    document = (await sam.press(text.MAKE))[-1]
    layer = pdf_text(document.file_bytes or b"")
    assert "Ada Lovelace" in layer and EMAIL not in layer  # the email is hidden by default
    assert "Period: 4 Feb 2025 to 3 Mar 2025" in layer
    want = expected(recent=True)
    assert f"Patients added {want['added']}" in layer


async def test_nothing_to_show_yet(bot: Bot) -> None:
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    sam = bot.user(901)
    await sam.send("/portfolio")
    replies = await sam.press(text.MAKE)
    assert replies[-1].text.startswith("📄 There is nothing to put in a portfolio yet")


async def test_any_name_renders_with_its_own_glyphs(bot: Bot) -> None:
    await write_history(bot.services.db)
    record = await StudentRecordService(bot.services.db, bot.services.settings.tz).record(
        EMAIL, TODAY
    )
    for name in NAMES:
        data = portfolio_pdf(record, PortfolioChoices(name, None, False), None)
        layer = squashed(pdf_text(data))
        # Scripts whose extraction reorders or decomposes glyphs (Arabic, Indic, Thai,
        # Hebrew) are checked by their letters being present; the rest verbatim.
        letters = [c for c in squashed(name) if c.isalpha()]
        assert sum(c in layer for c in letters) >= len(letters) * 0.6, name
        assert render_page_one(data)[2] > 0.02


def test_clean_name() -> None:
    assert clean_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean_name("") is None and clean_name("a" * 81) is None
    assert clean_name("Ada\x00") is None
