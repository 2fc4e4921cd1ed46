"""Run reports: JSON results, a Markdown summary and a self-contained HTML page."""

from evals.report.html import render_html
from evals.report.markdown import render_markdown
from evals.report.write import load_result, write_reports

__all__ = ["load_result", "render_html", "render_markdown", "write_reports"]
