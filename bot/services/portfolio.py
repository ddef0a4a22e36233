"""The /portfolio PDF: a one- or two-page record of a student's PTL practice.

Why fpdf2 (not reportlab): fpdf2 sets text in a font of the document's own and falls back,
character by character, to other fonts for what it lacks (`set_fallback_fonts`), and shapes
complex scripts (Arabic joining, Devanagari conjuncts) through HarfBuzz (`uharfbuzz`); with
reportlab both need hand-written font switching and shaping is still experimental. A name
in any script therefore prints as written (`bot.services.pdf_fonts` picks the fonts). fpdf2
is pure Python, maintained, embeds only the glyphs used, and draws tables and PNG images,
which is all a portfolio needs.

What goes in comes from the student's record (`bot.services.progress`, counted in SQL as
the student), the name and email they chose to show, and the /stats chart of their PTL.
Rendering is CPU work (about 0.1 s, more for a CJK name): callers run it in a thread.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.messages import my_progress as figures_text
from bot.messages import portfolio as text
from bot.rules.dates import format_date
from bot.services.pdf_fonts import body_font, bold_font, needs_shaping, plan_fonts
from bot.services.progress import MAIN_FIGURES, StudentRecord

__all__ = ["PortfolioChoices", "portfolio_pdf"]

BLUE: Final = (0, 94, 184)  # NHS blue
INK: Final = (33, 43, 50)  # NHS black
GREY: Final = (66, 84, 98)  # NHS dark grey
PALE: Final = (240, 244, 245)  # NHS pale grey
MARGIN: Final = 15.0
MAX_KINDS: Final = 12
BREACH_QUIET_DAYS_TEXT: Final = 14


@dataclass(frozen=True, slots=True)
class PortfolioChoices:
    """What the student chose to show."""

    name: str
    email: str | None
    recent: bool
    """Only the last 4 weeks (else since they started)."""


def _texts(record: StudentRecord, choices: PortfolioChoices) -> list[str]:
    """Everything the student typed that will be printed (their name, email, exercise
    titles): the font plan must cover these."""
    return [choices.name, choices.email or "", *(e.title for e in record.exercises)]


def portfolio_pdf(
    record: StudentRecord, choices: PortfolioChoices, chart_png: bytes | None
) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font("body", "", str(body_font()))
    pdf.add_font("body", "B", str(bold_font()))
    plan = plan_fonts(_texts(record, choices))
    names = []
    for i, (path, chars) in enumerate(plan.fallbacks):
        pdf.add_font(f"fallback{i}", "", str(path), unicode_range=list(chars))
        names.append(f"fallback{i}")
    pdf.set_fallback_fonts(names, exact_match=False)

    def shaped(value: str) -> str:
        """Shape (HarfBuzz) only the text that needs it: it costs a millisecond a word."""
        pdf.set_text_shaping(needs_shaping(value))
        return value

    pdf.set_title(text.PDF_TITLE)
    pdf.set_author(choices.name)
    pdf.set_creator("ptl-bot")
    pdf.set_creation_date(dt.datetime.combine(record.today, dt.time(12), tzinfo=dt.UTC))
    pdf.alias_nb_pages()

    def footer() -> None:
        pdf.set_y(-16)
        pdf.set_font("body", "", 7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 3.4, new_x="LMARGIN", new_y="NEXT", text=text.PDF_DISCLAIMER, align="J")
        pdf.set_y(-6)
        pdf.cell(0, 3, text=text.PDF_PAGE.format(page=pdf.page_no(), pages="{nb}"), align="R")

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()

    # Header band.
    pdf.set_fill_color(*BLUE)
    pdf.rect(0, 0, 210, 26, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(MARGIN, 7)
    pdf.set_font("body", "B", 19)
    pdf.cell(0, 8, text=text.PDF_TITLE)
    pdf.set_xy(MARGIN, 16)
    pdf.set_font("body", "", 9.5)
    pdf.cell(0, 5, text=text.PDF_SUBTITLE)

    # Who and when.
    pdf.set_fill_color(255, 255, 255)
    pdf.set_text_color(*INK)
    pdf.set_xy(MARGIN, 33)
    pdf.set_font("body", "B", 16)
    pdf.multi_cell(0, 8, new_x="LMARGIN", new_y="NEXT", text=shaped(choices.name))
    pdf.set_text_shaping(False)
    pdf.set_font("body", "", 10.5)
    if choices.email:
        pdf.multi_cell(0, 5.5, new_x="LMARGIN", new_y="NEXT", text=shaped(choices.email))
        pdf.set_text_shaping(False)
    start = record.recent_from if choices.recent else record.started_on
    period = (
        text.PDF_PERIOD.format(start=format_date(start), end=format_date(record.today))
        if start is not None
        else text.PDF_PERIOD_OPEN.format(end=format_date(record.today))
    )
    pdf.multi_cell(0, 5.5, new_x="LMARGIN", new_y="NEXT", text=period)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        0,
        5.5,
        new_x="LMARGIN",
        new_y="NEXT",
        text=text.PDF_PRODUCED.format(date=format_date(record.today)),
    )
    pdf.ln(3)

    heading = FontFace(emphasis="BOLD", color=INK, fill_color=PALE)

    def section(title: str) -> None:
        pdf.set_text_color(*BLUE)
        pdf.set_font("body", "B", 12.5)
        pdf.cell(0, 8, text=title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.set_font("body", "", 10)

    def table(rows: Sequence[Sequence[str]], widths: Sequence[float], align: Any) -> None:
        # A table is laid out when its block ends: shaping is on for all of it or none.
        pdf.set_text_shaping(any(needs_shaping(c) for row in rows for c in row))
        with pdf.table(
            col_widths=tuple(widths), text_align=align, line_height=5.4, headings_style=heading,
            borders_layout="HORIZONTAL_LINES", width=180, align="LEFT",
        ) as t:  # fmt: skip
            for row in rows:
                r = t.row()
                for cell in row:
                    r.cell(cell)
        pdf.set_text_shaping(False)
        pdf.ln(3)

    recent = choices.recent
    section(text.PDF_WHAT)
    rows = [["", text.PDF_COUNT]]
    for key in MAIN_FIGURES:
        label = figures_text.FIGURE_LABELS_THIRD_PERSON[key]
        rows.append([label, str(record.figure(key).count(recent))])
    done = record.exercises_done_since(record.recent_from) if recent else len(record.exercises_done)
    rows.append(["Exercises completed", str(done)])
    table(rows, (140, 40), ("LEFT", "RIGHT"))
    pdf.set_font("body", "", 8)
    pdf.set_text_color(*GREY)
    for note in (
        text.PDF_NOTES["stopped_in_time"],
        text.PDF_NOTES["breach_let_happen"].format(days=BREACH_QUIET_DAYS_TEXT),
    ):
        pdf.multi_cell(0, 3.8, new_x="LMARGIN", new_y="NEXT", text=note)
    pdf.ln(2)

    kinds = [k for k in record.event_kinds if k.count(recent)][:MAX_KINDS]
    if kinds:
        section(text.PDF_EVENTS)
        rows = [[text.PDF_EVENT, text.PDF_COUNT]]
        rows += [
            [figures_text.event_label(k.key.removeprefix("event:")), str(k.count(recent))]
            for k in kinds
        ]
        table(rows, (140, 40), ("LEFT", "RIGHT"))

    section(text.PDF_RULES)
    pathways = [
        (text.PDF_PATHWAY_ITEM_ONE if n == 1 else text.PDF_PATHWAY_ITEM).format(
            label=figures_text.pathway_label(p), n=n
        )
        for p, n in record.pathways.items()
    ]
    kinds_all = [figures_text.event_label(k.key.removeprefix("event:")) for k in record.event_kinds]
    pdf.multi_cell(
        0,
        5.2,
        new_x="LMARGIN",
        new_y="NEXT",
        text=text.PDF_PATHWAYS.format(items="; ".join(pathways) or text.PDF_NONE),
    )
    pdf.multi_cell(
        0,
        5.2,
        new_x="LMARGIN",
        new_y="NEXT",
        text=text.PDF_KINDS.format(items="; ".join(kinds_all) or text.PDF_NONE),
    )
    pdf.ln(2)

    section(text.PDF_EXERCISES)
    if record.exercises:
        rows = [[text.PDF_EXERCISE, text.PDF_COMPLETED, text.PDF_QUIZ]]
        for e in record.exercises:
            rows.append(
                [
                    e.title,
                    format_date(e.done_on) if e.done_on else text.PDF_NOT_DONE,
                    text.PDF_QUIZ_SCORE.format(correct=e.correct, questions=e.questions)
                    if e.answered
                    else text.PDF_NO_QUIZ,
                ]
            )
        table(rows, (110, 40, 30), ("LEFT", "LEFT", "RIGHT"))
    else:
        pdf.multi_cell(0, 5.2, new_x="LMARGIN", new_y="NEXT", text=text.PDF_NO_EXERCISES)
        pdf.ln(2)

    if chart_png:
        image_width = 100.0
        # The chart is 800 px wide; its height follows from its panels.
        from PIL import Image

        with Image.open(io.BytesIO(chart_png)) as im:
            height = image_width * im.height / im.width
        if pdf.get_y() + height + 8 > pdf.h - 22:
            pdf.add_page()
        section(text.PDF_CHART)
        pdf.image(io.BytesIO(chart_png), w=image_width)
    return bytes(pdf.output())
