"""The statement as CSV, XLSX (with a chart) and PDF (ReportLab, with a chart).

Every renderer takes a `Statement` from `selectors.statement_build`; none computes a figure
of its own beyond the reconciliation it prints.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from solidarity.apps.disbursements.selectors import BABEL_LOCALES, Statement
from solidarity.core.money import Money, currency_exponent, money_format
from solidarity.core.report import cell_safe

FORMATS = ("pdf", "csv", "xlsx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LANGUAGES = tuple(BABEL_LOCALES)
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


@contextmanager
def _language(lang: str) -> Iterator[str]:
    with translation.override(lang):
        yield BABEL_LOCALES.get(lang, "vi")


def report_filename(statement: Statement, fmt: str) -> str:
    return f"{statement.campaign.slug}-{statement.start}-{statement.end}.{fmt}"


def _summary(st: Statement) -> list[tuple[str, int]]:
    return [
        (_("Opening balance"), st.opening),
        (_("Gifts"), st.gifts),
        (_("Reversals"), st.reversals),
        (_("Tranches handed over"), st.tranches_total),
        (_("Closing balance"), st.closing),
    ]


def report_render(statement: Statement, fmt: str, lang: str = "vi") -> bytes:
    """The statement in `fmt` (pdf, csv, xlsx), its labels and amounts in `lang`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")
    if lang not in BABEL_LOCALES:
        raise ValueError(f"unknown language {lang!r}; use {', '.join(BABEL_LOCALES)}")
    with _language(lang) as locale:
        if fmt == "csv":
            return _csv(statement, locale)
        if fmt == "xlsx":
            return _xlsx(statement, locale)
        return _pdf(statement, locale)


# --- CSV --------------------------------------------------------------------------------


def _decimal(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())


def _csv(st: Statement, locale: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cur = st.currency

    def row(*cells: Any) -> None:
        writer.writerow([cell_safe(str(c)) for c in cells])

    row(
        _("Section"),
        _("Date"),
        _("Description"),
        _("Count"),
        _("Amount"),
        _("Currency"),
        _("Formatted"),
    )
    row(_("Campaign"), "", st.campaign.text("names", translation.get_language()), "", "", "", "")
    row(_("Period"), st.start.isoformat(), st.end.isoformat(), "", "", "", "")
    for label, minor in _summary(st)[:1]:
        row(
            label,
            st.start.isoformat(),
            "",
            "",
            _decimal(minor, cur),
            cur,
            money_format(Money(minor, cur), locale),
        )
    for section, by_day in ((_("Gifts"), st.gifts_by_day), (_("Reversals"), st.reversals_by_day)):
        for day, count, minor in by_day:
            row(
                section,
                day.isoformat(),
                "",
                count,
                _decimal(minor, cur),
                cur,
                money_format(Money(minor, cur), locale),
            )
    for t in st.tranches:
        description = t["recipient"] + (f" — {t['purpose']}" if t["purpose"] else "")
        row(
            _("Tranche"),
            t["day"].isoformat(),
            description,
            1,
            _decimal(t["amount_minor"], cur),
            cur,
            money_format(Money(t["amount_minor"], cur), locale),
        )
    for label, minor in _summary(st)[1:]:
        row(label, "", "", "", _decimal(minor, cur), cur, money_format(Money(minor, cur), locale))
    return out.getvalue().encode("utf-8-sig")


# --- XLSX -------------------------------------------------------------------------------


def _xlsx(st: Statement, locale: str) -> bytes:

    cur = st.currency
    exp = currency_exponent(cur)
    number = "#,##0" + ("." + "0" * exp if exp else "")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Statement")[:31]

    def text(value: str) -> str:
        return cell_safe(value)

    def amount(minor: int) -> Any:
        return Money(minor, cur).to_decimal()

    ws.append([text(st.campaign.text("names", translation.get_language()))])
    ws.append([text(_("Period")), st.start, st.end])
    ws.append([text(_("Currency")), cur])
    ws.append([])
    for label, minor in _summary(st):
        ws.append([text(label), amount(minor), text(money_format(Money(minor, cur), locale))])
        ws.cell(ws.max_row, 2).number_format = number
    ws.append([])
    ws.append([text(_("Gifts by day")), text(_("Count")), text(_("Amount"))])
    first = ws.max_row + 1
    for day, count, minor in st.gifts_by_day:
        ws.append([day, count, amount(minor)])
        ws.cell(ws.max_row, 1).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 3).number_format = number
    last = ws.max_row
    if st.reversals_by_day:
        ws.append([])
        ws.append([text(_("Reversals")), text(_("Count")), text(_("Amount"))])
        for day, count, minor in st.reversals_by_day:
            ws.append([day, count, amount(minor)])
            ws.cell(ws.max_row, 1).number_format = "yyyy-mm-dd"
            ws.cell(ws.max_row, 3).number_format = number
    ws.append([])
    ws.append(
        [
            text(_("Tranche")),
            text(_("Date")),
            text(_("Recipient")),
            text(_("Amount")),
            text(_("Other currency")),
            text(_("Rate")),
            text(_("Source of the rate")),
        ]
    )
    for t in st.tranches:
        counter = (
            Money(t["counter_minor"], t["counter_currency"]).to_decimal()
            if t["counter_minor"] is not None
            else ""
        )
        ws.append(
            [
                t["id"],
                t["day"],
                text(t["recipient"]),
                amount(t["amount_minor"]),
                counter,
                text(t["rate"]),
                text(t["rate_source"]),
            ]
        )
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 4).number_format = number
    ws.column_dimensions["A"].width = 28
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 20
    if last >= first:
        chart = BarChart()
        chart.title = _("Gifts by day")
        chart.y_axis.title = cur
        chart.add_data(
            Reference(ws, min_col=3, min_row=first - 1, max_row=last), titles_from_data=True
        )
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.legend = None
        ws.add_chart(chart, "I2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- PDF --------------------------------------------------------------------------------


def _fonts() -> tuple[str, str]:
    """A font that has Vietnamese letters (DejaVu, from Debian's fonts-dejavu-core) or Vera."""

    if "SolidarityText" in pdfmetrics.getRegisteredFontNames():
        return "SolidarityText", "SolidarityBold"
    for folder in _FONT_DIRS:
        regular, bold = Path(folder) / "DejaVuSans.ttf", Path(folder) / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("SolidarityText", str(regular)))
            pdfmetrics.registerFont(TTFont("SolidarityBold", str(bold)))
            return "SolidarityText", "SolidarityBold"
    pdfmetrics.registerFont(TTFont("SolidarityText", "Vera.ttf"))
    pdfmetrics.registerFont(TTFont("SolidarityBold", "VeraBd.ttf"))
    return "SolidarityText", "SolidarityBold"


def gifts_chart(st: Statement, width: float = 480, height: float = 200) -> Any:
    """A ReportLab drawing: gifts per day as bars (major units)."""

    font, _bold = _fonts()
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 60, 40
    chart.width, chart.height = width - 80, height - 70
    values = [float(Money(m, st.currency).to_decimal()) for _d, _n, m in st.gifts_by_day] or [0.0]
    chart.data = [values]
    labels = [d.strftime("%d/%m") for d, _n, _m in st.gifts_by_day] or [""]
    step = max(1, len(labels) // 12)
    chart.categoryAxis.categoryNames = [
        lab if i % step == 0 else "" for i, lab in enumerate(labels)
    ]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#b00020")
    drawing.add(chart)
    drawing.add(
        String(60, height - 15, _("Gifts by day") + f" ({st.currency})", fontName=font, fontSize=10)
    )
    return drawing


def _pdf(st: Statement, locale: str) -> bytes:

    font, bold = _fonts()
    cur = st.currency
    title_style = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19)
    body_style = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    head_style = ParagraphStyle("head", fontName=bold, fontSize=11, leading=15, spaceBefore=8)

    def money(minor: int) -> str:
        return money_format(Money(minor, cur), locale)

    def esc(value: str) -> str:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def table(rows: list[list[str]], widths: list[float], numeric_from: int = 1) -> Table:
        t = Table(rows, colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 8.5),
                    ("FONT", (0, 0), (-1, 0), bold, 8.5),
                    ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("Statement") + " " + st.campaign.slug,
        author="Solidarity",
    )
    name = st.campaign.text("names", translation.get_language())
    story: list[Any] = [
        Paragraph(esc(_("Statement") + " — " + name), title_style),
        Paragraph(esc(_("Period") + f": {_day(st.start)} – {_day(st.end)}"), body_style),
        Spacer(1, 4 * mm),
        table(
            [[_("Summary"), _("Amount")]] + [[lab, money(v)] for lab, v in _summary(st)],
            [110 * mm, 60 * mm],
        ),
    ]
    rec = st.reconciliation
    story.append(
        Paragraph(
            esc(
                _("Opening + gifts − reversals − tranches = closing")
                + (": " + _("reconciled") if rec.ok else ": " + _("DOES NOT RECONCILE"))
            ),
            body_style,
        )
    )
    story += [Spacer(1, 4 * mm), gifts_chart(st)]
    story.append(Paragraph(esc(_("Gifts by day")), head_style))
    story.append(
        table(
            [[_("Date"), _("Count"), _("Amount")]]
            + [[_day(d), f"{n:,}", money(m)] for d, n, m in st.gifts_by_day],
            [50 * mm, 40 * mm, 80 * mm],
        )
    )
    if st.reversals_by_day:
        story.append(Paragraph(esc(_("Reversals")), head_style))
        story.append(
            table(
                [[_("Date"), _("Count"), _("Amount")]]
                + [[_day(d), f"{n:,}", money(m)] for d, n, m in st.reversals_by_day],
                [50 * mm, 40 * mm, 80 * mm],
            )
        )
    story.append(Paragraph(esc(_("Tranches handed over")), head_style))
    rows = [[_("Date"), _("Recipient"), _("Amount"), _("Other currency")]]
    for t in st.tranches:
        counter = ""
        if t["counter_minor"] is not None:
            counter = money_format(Money(t["counter_minor"], t["counter_currency"]), locale)
            counter += f"\n@ {t['rate']} {cur}/{t['counter_currency']}"
        rows.append(
            [
                _day(t["day"]),
                Paragraph(esc(t["recipient"]), body_style),
                money(t["amount_minor"]),
                counter,
            ]
        )
    story.append(table(rows, [25 * mm, 65 * mm, 40 * mm, 44 * mm], numeric_from=2))
    doc.build(story)
    return out.getvalue()


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")
