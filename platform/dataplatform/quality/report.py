"""A validation report per run: one HTML page listing every check evaluated in the run.

Each asset's results are kept as JSON beside the page and the page is rebuilt from all of them
after each asset, so steps running in parallel never overwrite each other's results. Written
via a temporary file and a rename: a reader never sees half a page.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

REPORTS = Path("quality") / "reports"


def report_path(data_dir: Path, run_id: str) -> Path:
    return data_dir / REPORTS / _safe(run_id) / "index.html"


def write_report(
    data_dir: Path, run_id: str, asset: str, partition: str | None, results: list[dict[str, object]]
) -> Path:
    """Record `results` (name, severity, passed, observed, expected, failing_rows, total_rows)."""
    folder = report_path(data_dir, run_id).parent
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"asset": asset, "partition": partition, "results": results}
    _replace(folder / f"{_safe(asset)}__{_safe(partition or 'all')}.json", json.dumps(entry, default=str))
    entries = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    _replace(folder / "index.html", _page(run_id, entries))
    return folder / "index.html"


def _page(run_id: str, entries: list[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        for r in entry["results"]:
            status = "pass" if r["passed"] else ("fail" if r["severity"] == "ERROR" else "warn")
            cells = [
                entry["asset"],
                entry["partition"] or "",
                r["name"],
                r["severity"],
                status.upper(),
                r.get("observed", ""),
                r.get("expected", ""),
                f"{r.get('failing_rows', 0):,} / {r.get('total_rows', 0):,}",
            ]
            rows.append(
                f'<tr class="{status}">' + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
    failed = sum(1 for e in entries for r in e["results"] if not r["passed"])
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "asset",
            "partition",
            "check",
            "severity",
            "result",
            "observed",
            "expected",
            "failing / rows",
        )
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Checks of run {html.escape(run_id)}</title>
<style>body{{font-family:sans-serif}} td,th{{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}}
.fail{{background:#fdd}} .warn{{background:#ffd}} .pass{{background:#efe}}</style></head><body>
<h1>Checks of run {html.escape(run_id)}</h1><p>{failed} of {sum(len(e["results"]) for e in entries)} checks failed.</p>
<table><tr>{head}</tr>{"".join(rows)}</table></body></html>"""


def _safe(text: str) -> str:
    """A file name from an asset key, run id or partition: no separator, no way out of the folder."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).lstrip(".") or "_"


def _replace(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(text)
    staged.replace(path)
