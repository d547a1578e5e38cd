"""The statement as CSV, XLSX (with a chart) and PDF (ReportLab, with a chart).

Every renderer takes a `Statement` from `selectors.statement_build`; none computes a figure
of its own beyond the reconciliation it prints and the sums of goods lines it shows. Counts,
quantities, amounts and dates are written as the report's language writes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
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
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from solidarity.apps.disbursements.selectors import BABEL_LOCALES, GoodsMovement, Statement
from solidarity.core.money import Money, currency_exponent, money_format
from solidarity.core.report import cell_safe, count_format, day_format, quantity_format
from solidarity.core.tranches import decimal_text

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


@dataclass(frozen=True, slots=True)
class Signatures:
    """The names printed on the signature block; blank lines to sign by hand otherwise."""

    prepared_by: str = ""
    approved_by: str = ""


def _summary(st: Statement) -> list[tuple[str, int, int | None]]:
    """The cash figures (label, amount, count), in reconciliation order."""
    return [
        (_("Opening balance"), st.opening, None),
        (_("Gifts"), st.gifts, st.gift_count),
        (_("Reversals"), st.reversals, st.reversal_count),
        (_("Tranches handed over"), st.tranches_total, len(st.tranches)),
        (_("Closing balance"), st.closing, None),
    ]


def _goods_summary(st: Statement) -> list[tuple[str, int, int]]:
    """Goods in kind at their stated value; never part of the cash balance."""
    return [
        (_("Goods received in kind"), st.goods_in_total, len(st.goods_in)),
        (_("Goods handed over in kind"), st.goods_out_total, len(st.goods_out)),
    ]


def _goods_sections(st: Statement) -> list[tuple[str, str, list[GoodsMovement]]]:
    return [
        (_("Goods received in kind"), _("Donor"), st.goods_in),
        (_("Goods handed over in kind"), _("Recipient"), st.goods_out),
    ]


def report_render(
    statement: Statement, fmt: str, lang: str = "vi", signatures: Signatures | None = None
) -> bytes:
    """The statement in `fmt` (pdf, csv, xlsx), its labels, numbers and dates in `lang`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")
    if lang not in BABEL_LOCALES:
        raise ValueError(f"unknown language {lang!r}; use {', '.join(BABEL_LOCALES)}")
    signatures = signatures or Signatures()
    with _language(lang) as locale:
        if fmt == "csv":
            return _csv(statement, locale, signatures)
        if fmt == "xlsx":
            return _xlsx(statement, locale, signatures)
        return _pdf(statement, locale, signatures)


def _signature_rows(signatures: Signatures) -> list[tuple[str, str]]:
    return [(_("Prepared by"), signatures.prepared_by), (_("Approved by"), signatures.approved_by)]


# --- CSV --------------------------------------------------------------------------------


def _decimal(minor: int, currency: str) -> str:
    return str(Money(minor, currency).to_decimal())


def _csv(st: Statement, locale: str, signatures: Signatures) -> bytes:
    """Machine-readable columns (ISO dates, plain numbers) beside amounts formatted for the
    reader; one row per figure, gift day, tranche and kind of goods."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cur = st.currency

    def row(*cells: Any) -> None:
        writer.writerow([cell_safe(str(c)) for c in cells])

    def money_row(label: str, day: str, text: str, count: Any, minor: int, *rest: Any) -> None:
        row(
            label,
            day,
            text,
            count,
            _decimal(minor, cur),
            cur,
            money_format(Money(minor, cur), locale),
            *rest,
        )

    row(
        _("Section"),
        _("Date"),
        _("Description"),
        _("Count"),
        _("Amount"),
        _("Currency"),
        _("Formatted"),
        _("Quantity"),
        _("Unit"),
        _("Value per unit"),
    )
    row(_("Campaign"), "", st.campaign.text("names", translation.get_language()), "", "", "", "")
    row(_("Period"), st.start.isoformat(), st.end.isoformat(), "", "", "", "")
    money_row(_("Opening balance"), st.start.isoformat(), "", "", st.opening)
    for section, by_day in ((_("Gifts"), st.gifts_by_day), (_("Reversals"), st.reversals_by_day)):
        for day, count, minor in by_day:
            money_row(section, day.isoformat(), "", count, minor)
    for t in st.tranches:
        description = t["recipient"] + (f" — {t['purpose']}" if t["purpose"] else "")
        money_row(_("Tranche"), t["day"].isoformat(), description, 1, t["amount_minor"])
    for section, _party, movements in _goods_sections(st):
        for g in movements:
            for line in g.lines:
                money_row(
                    section,
                    g.day.isoformat(),
                    f"{g.party} — {line.item}",
                    "",
                    line.total_minor,
                    decimal_text(line.quantity),
                    line.unit,
                    _decimal(line.unit_value_minor, cur),
                )
    for label, minor, count in _summary(st)[1:]:
        money_row(label, "", "", "" if count is None else count, minor)
    for label, minor, count in _goods_summary(st):
        money_row(label, "", "", count, minor)
    for label, name in _signature_rows(signatures):
        row(label, "", name, "", "", "", "")
    return out.getvalue().encode("utf-8-sig")


# --- XLSX -------------------------------------------------------------------------------


def _xlsx_day_format(locale: str) -> str:
    return "d mmm yyyy" if locale == "en" else "dd/mm/yyyy"


def _xlsx(st: Statement, locale: str, signatures: Signatures) -> bytes:
    """Numbers and dates are typed cells; their display format follows the language."""
    cur = st.currency
    exp = currency_exponent(cur)
    number = "#,##0" + ("." + "0" * exp if exp else "")
    day_fmt = _xlsx_day_format(locale)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Statement")[:31]

    def text(value: str) -> str:
        return cell_safe(value)

    def amount(minor: int) -> Any:
        return Money(minor, cur).to_decimal()

    def formats(**columns: str) -> None:
        for col, fmt in columns.items():
            ws.cell(ws.max_row, ord(col) - ord("A") + 1).number_format = fmt

    ws.append([text(st.campaign.text("names", translation.get_language()))])
    ws.append([text(_("Period")), st.start, st.end])
    formats(B=day_fmt, C=day_fmt)
    ws.append([text(_("Currency")), cur])
    ws.append([])
    ws.append([text(_("Summary")), text(_("Amount")), text(_("Formatted")), text(_("Count"))])
    for label, minor, count in [*_summary(st), *_goods_summary(st)]:
        ws.append(
            [text(label), amount(minor), text(money_format(Money(minor, cur), locale)), count]
        )
        formats(B=number, D="#,##0")
    ws.append([])
    ws.append([text(_("Gifts by day")), text(_("Count")), text(_("Amount"))])
    first = ws.max_row + 1
    for day, count, minor in st.gifts_by_day:
        ws.append([day, count, amount(minor)])
        formats(A=day_fmt, B="#,##0", C=number)
    last = ws.max_row
    if st.reversals_by_day:
        ws.append([])
        ws.append([text(_("Reversals")), text(_("Count")), text(_("Amount"))])
        for day, count, minor in st.reversals_by_day:
            ws.append([day, count, amount(minor)])
            formats(A=day_fmt, B="#,##0", C=number)
    ws.append([])
    ws.append(
        [
            text(_("Tranche")),
            text(_("Date of the handover")),
            text(_("Recipient")),
            text(_("Amount")),
            text(_("Other currency")),
            text(_("Rate")),
            text(_("Source of the rate")),
            text(_("Recorded on")),
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
                t["recorded"] or "",
            ]
        )
        formats(B=day_fmt, D=number, H=day_fmt)
    for section, party, movements in _goods_sections(st):
        ws.append([])
        ws.append(
            [
                text(section),
                text(_("Date")),
                text(party),
                text(_("Item")),
                text(_("Quantity")),
                text(_("Unit")),
                text(_("Value per unit")),
                text(_("Total")),
            ]
        )
        for g in movements:
            for line in g.lines:
                ws.append(
                    [
                        text(g.ref),
                        g.day,
                        text(g.party),
                        text(line.item),
                        line.quantity,
                        text(line.unit),
                        amount(line.unit_value_minor),
                        amount(line.total_minor),
                    ]
                )
                whole = line.quantity == line.quantity.to_integral_value()
                formats(B=day_fmt, E="#,##0" if whole else "#,##0.0##", G=number, H=number)
    ws.append([])
    for label, name in _signature_rows(signatures):
        ws.append([text(label), text(name or "")])
    ws.column_dimensions["A"].width = 28
    for col in "BCDEFGH":
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
        ws.add_chart(chart, "J2")
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


def gifts_chart(st: Statement, width: float = 480, height: float = 200, locale: str = "vi") -> Any:
    """A ReportLab drawing: gifts per day as bars (major units, written as `locale` does)."""

    font, _bold = _fonts()
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 75, 40
    chart.width, chart.height = width - 95, height - 70
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
    chart.valueAxis.labelTextFormat = lambda value: count_format(int(value), locale)
    chart.bars[0].fillColor = colors.HexColor("#b00020")
    drawing.add(chart)
    drawing.add(
        String(60, height - 15, _("Gifts by day") + f" ({st.currency})", fontName=font, fontSize=10)
    )
    return drawing


def _pdf(st: Statement, locale: str, signatures: Signatures) -> bytes:
    font, bold = _fonts()
    cur = st.currency
    title_style = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19)
    body_style = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=10.5)
    head_style = ParagraphStyle("head", fontName=bold, fontSize=11, leading=15, spaceBefore=8)

    def money(minor: int) -> str:
        return money_format(Money(minor, cur), locale)

    def count(n: int | None) -> str:
        return "" if n is None else count_format(n, locale)

    def day(value: date) -> str:
        return day_format(value, locale)

    def esc(value: str) -> str:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def para(value: str) -> Paragraph:
        return Paragraph(esc(value), cell_style)

    def table(rows: list[list[Any]], widths: list[float], numeric_from: int = 1) -> Table:
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
        Paragraph(esc(_("Period") + f": {day(st.start)} – {day(st.end)}"), body_style),
        Spacer(1, 4 * mm),
        table(
            [[_("Summary"), _("Count"), _("Amount")]]
            + [[lab, count(n), money(v)] for lab, v, n in _summary(st)],
            [100 * mm, 30 * mm, 44 * mm],
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
    story.append(Spacer(1, 3 * mm))
    story.append(
        table(
            [[_("Goods in kind (stated value, not part of the balance)"), _("Count"), _("Value")]]
            + [[lab, count(n), money(v)] for lab, v, n in _goods_summary(st)],
            [100 * mm, 30 * mm, 44 * mm],
        )
    )
    story += [Spacer(1, 4 * mm), gifts_chart(st, locale=locale)]
    story.append(Paragraph(esc(_("Gifts by day")), head_style))
    story.append(
        table(
            [[_("Date"), _("Count"), _("Amount")]]
            + [[day(d), count(n), money(m)] for d, n, m in st.gifts_by_day],
            [50 * mm, 40 * mm, 80 * mm],
        )
    )
    if st.reversals_by_day:
        story.append(Paragraph(esc(_("Reversals")), head_style))
        story.append(
            table(
                [[_("Date"), _("Count"), _("Amount")]]
                + [[day(d), count(n), money(m)] for d, n, m in st.reversals_by_day],
                [50 * mm, 40 * mm, 80 * mm],
            )
        )
    story.append(Paragraph(esc(_("Tranches handed over")), head_style))
    rows: list[list[Any]] = [
        [_("Date of the handover"), _("Recipient"), _("Amount"), _("Other currency")]
    ]
    for t in st.tranches:
        counter = ""
        if t["counter_minor"] is not None:
            counter = money_format(Money(t["counter_minor"], t["counter_currency"]), locale)
            rate = quantity_format(Decimal(t["rate"]), locale) if t["rate"] else ""
            counter += f"\n@ {rate} {cur}/{t['counter_currency']}"
        when = esc(day(t["day"]))
        if t["recorded"] and t["recorded"] != t["day"]:
            when += "<br/>" + esc(_("recorded %(day)s") % {"day": day(t["recorded"])})
        rows.append(
            [Paragraph(when, cell_style), para(t["recipient"]), money(t["amount_minor"]), counter]
        )
    story.append(table(rows, [30 * mm, 60 * mm, 40 * mm, 44 * mm], numeric_from=2))
    for section, party, movements in _goods_sections(st):
        if not movements:
            continue
        story.append(Paragraph(esc(section), head_style))
        goods_rows: list[list[Any]] = [
            [_("Date"), party, _("Item"), _("Quantity"), _("Value per unit"), _("Total")]
        ]
        for g in movements:
            for line in g.lines:
                goods_rows.append(
                    [
                        day(g.day),
                        para(g.party),
                        para(line.item),
                        para(f"{quantity_format(line.quantity, locale)} {line.unit}"),
                        money(line.unit_value_minor),
                        money(line.total_minor),
                    ]
                )
        goods_rows.append(
            ["", "", "", _("Total"), "", money(sum(g.total_minor for g in movements))]
        )
        story.append(
            table(
                goods_rows, [20 * mm, 36 * mm, 30 * mm, 24 * mm, 30 * mm, 34 * mm], numeric_from=4
            )
        )
    story.append(Spacer(1, 10 * mm))
    sign = _signature_rows(signatures)
    block = Table(
        [
            [Paragraph(esc(sign[0][0]), head_style), "", Paragraph(esc(sign[1][0]), head_style)],
            [para(sign[0][1]), "", para(sign[1][1])],
            ["", "", ""],
            [para(_("Signature and date")), "", para(_("Signature and date"))],
        ],
        colWidths=[80 * mm, 14 * mm, 80 * mm],
        rowHeights=[None, None, 18 * mm, None],
    )
    block.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 3), (0, 3), 0.6, colors.black),
                ("LINEABOVE", (2, 3), (2, 3), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(KeepTogether([block]))
    doc.build(story)
    return out.getvalue()
