"""Self-contained HTML reports of results folders (``revsim report DIR -o report.html``).

>>> from revsim.report import write_report
>>> write_report("results/", "report.html")
"""

from revsim.report.html import (
    ReportError,
    ResultsFolder,
    read_results,
    render_html,
    write_report,
)

__all__ = ["ReportError", "ResultsFolder", "read_results", "render_html", "write_report"]
