"""A status report's two renderings: CSV (one section after another, each with its own header row)
and a self-contained HTML page (inline CSS and an inline SVG bar chart of the throughput; no script,
no external resource; every text from the database escaped)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from html import escape

from persistence.enums import TaskStatus
from persistence.queries.reports import StatusFigures

UNASSIGNED = "(unassigned)"
# A spreadsheet reads a cell starting with one of these as a formula: such text gets a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHART_WIDTH, _CHART_HEIGHT, _BAR_GAP, _LABEL_SPACE = 600, 200, 6, 40


@dataclass(frozen=True)
class ReportHeading:
    report_id: int
    project_key: str
    project_name: str
    generated_at: datetime


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def render_csv(heading: ReportHeading, figures: StatusFigures) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def section(title: str, header: list[str], rows: list[list[object]]) -> None:
        writer.writerow([f"# {title}"])
        writer.writerow(header)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        writer.writerow([])

    statuses = list(TaskStatus)
    section(
        "report",
        ["project_key", "project_name", "generated_at"],
        [[heading.project_key, heading.project_name, heading.generated_at.isoformat()]],
    )
    section("tasks by status", ["status", "tasks"], [[s.value, figures.by_status[s]] for s in statuses])
    section(
        "tasks by assignee",
        ["assignee", *[s.value for s in statuses], "total"],
        [
            [entry.name or UNASSIGNED, *[entry.by_status[s] for s in statuses], sum(entry.by_status.values())]
            for entry in figures.by_assignee
        ],
    )
    section("overdue", ["overdue_tasks"], [[figures.overdue]])
    section(
        "throughput (tasks completed per ISO week)",
        ["week", "week_start", "completed"],
        [[week.iso_week, week.week_start.isoformat(), week.completed] for week in figures.throughput],
    )
    return out.getvalue().encode()


def _throughput_svg(figures: StatusFigures) -> str:
    weeks = figures.throughput
    top = max((week.completed for week in weeks), default=0) or 1
    bar_width = (_CHART_WIDTH - _BAR_GAP * (len(weeks) + 1)) / max(len(weeks), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_CHART_WIDTH}" '
        f'height="{_CHART_HEIGHT + _LABEL_SPACE}" role="img" aria-label="Tasks completed per week">'
    ]
    for n, week in enumerate(weeks):
        height = round(_CHART_HEIGHT * week.completed / top, 1)
        x = round(_BAR_GAP + n * (bar_width + _BAR_GAP), 1)
        y = _CHART_HEIGHT - height
        label = escape(week.iso_week)
        parts.append(
            f'<rect x="{x}" y="{y}" width="{round(bar_width, 1)}" height="{height}" fill="#4a7bd0">'
            f"<title>{label}: {week.completed}</title></rect>"
            f'<text x="{round(x + bar_width / 2, 1)}" y="{_CHART_HEIGHT + 14}" font-size="9" '
            f'text-anchor="middle">{escape(label.split("-")[1])}</text>'
            f'<text x="{round(x + bar_width / 2, 1)}" y="{max(y - 3, 10)}" font-size="10" '
            f'text-anchor="middle">{week.completed}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(heading: ReportHeading, figures: StatusFigures) -> bytes:
    statuses = list(TaskStatus)
    title = escape(f"{heading.project_key} {heading.project_name}: status report")
    assignees = [
        [entry.name or UNASSIGNED, *[entry.by_status[s] for s in statuses], sum(entry.by_status.values())]
        for entry in figures.by_assignee
    ]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
th,td{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}
th:first-child,td:first-child{{text-align:left}}
</style></head><body>
<h1>{title}</h1>
<p>Generated {escape(heading.generated_at.strftime("%Y-%m-%d %H:%M"))} UTC.</p>
<h2>Tasks by status</h2>
{_table(["status", "tasks"], [[s.value, figures.by_status[s]] for s in statuses])}
<h2>Tasks by assignee</h2>
{_table(["assignee", *[s.value for s in statuses], "total"], assignees)}
<h2>Overdue</h2>
<p>{figures.overdue} open task(s) past their due date.</p>
<h2>Throughput</h2>
<p>Tasks completed per ISO week, the last {len(figures.throughput)} weeks.</p>
{_throughput_svg(figures)}
{_table(["week", "completed"], [[week.iso_week, week.completed] for week in figures.throughput])}
</body></html>
"""
    return page.encode()
