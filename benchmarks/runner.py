"""Runs every benchmark module, each in a child process, and writes one results table.

A benchmark module is any `benchmarks/*_bench.py` exposing `run(smoke: bool) -> list[dict]`
(rows as built by `benchmarks.measure.row`; only `metric` and `value` are required). Ours
run first in item order, then every other module found, alphabetically: dropping a new
`*_bench.py` file into this folder is the whole hook. Each module runs in a fresh
interpreter, so one module's threads, caches and heap never colour another's figures.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.measure import Row

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
START = "<!-- results:start -->"
END = "<!-- results:end -->"
OURS = ["latency_bench", "cpu_bench", "ingest_bench", "footprint_bench", "burst_bench"]
TIMEOUT = {True: 300.0, False: 1800.0}


def discover(folder: Path = HERE) -> list[str]:
    """Our modules in item order, then every other `*_bench.py` in `folder`, alphabetically."""
    found = sorted(p.stem for p in folder.glob("*_bench.py"))
    return [m for m in OURS if m in found] + [m for m in found if m not in OURS]


def run_child(module: str, smoke: bool, out: Path) -> None:
    """Child-process entry: run one module and write its rows as JSON to `out`."""
    mod = importlib.import_module(f"benchmarks.{module}")
    rows = mod.run(smoke)
    out.write_text(json.dumps([normalise(module, r) for r in rows], default=str))


def normalise(module: str, data: dict[str, Any]) -> Row:
    """Fill in the optional keys of a row another module returned."""
    return {
        "section": data.get("section") or module,
        "metric": str(data.get("metric", "?")),
        "value": data.get("value", ""),
        "unit": data.get("unit", ""),
        "target": data.get("target", ""),
        "met": data.get("met"),
        "detail": data.get("detail", ""),
        "module": module,
    }


def run_module(module: str, smoke: bool) -> tuple[list[Row], float]:
    """Run one module in a child process; a failure becomes one row that says so."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="myagent-bench-") as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "benchmarks", "--child", module, "--rows-out", str(out)]
        if smoke:
            cmd.append("--smoke")
        env = dict(os.environ, PYTHONPATH=_pythonpath())
        try:
            proc = subprocess.run(
                cmd,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT[smoke],
            )
            failure = None if proc.returncode == 0 and out.exists() else proc.stderr[-2000:]
        except subprocess.TimeoutExpired:
            failure = f"timed out after {TIMEOUT[smoke]:.0f} s"
        elapsed = time.monotonic() - started
        if failure is not None:
            sys.stderr.write(f"benchmark module {module} failed:\n{failure}\n")
            return [
                normalise(module, {"metric": "module failed", "value": "error", "met": False})
            ], elapsed
        rows: list[Row] = json.loads(out.read_text())
        return rows, elapsed


def _section_number(r: Row) -> int:
    """The item number a section starts with ("7. Cost growth" → 7); unnumbered ones last."""
    head = str(r["section"]).split(".", 1)[0]
    return int(head) if head.isdigit() else 99


def _pythonpath() -> str:
    parts = [str(ROOT)]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cores": str(os.cpu_count()),
        "cpu": model or "unknown",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "orjson": version("orjson"),
        "opentelemetry-sdk": version("opentelemetry-sdk"),
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def table(rows: list[Row], info: dict[str, str], smoke: bool, seconds: float) -> str:
    """The markdown block written between the README's result markers."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Measured {when} with `python -m benchmarks{' --smoke' if smoke else ''}` "
        f"in {seconds:.0f} s"
        + (" (smoke run: tiny counts, figures meaningless)." if smoke else "."),
        "",
        f"Machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['os']}, orjson {info['orjson']}, "
        f"opentelemetry-sdk {info['opentelemetry-sdk']}.",
        "",
        "| Section | Metric | Value | Unit | Target | Met | Notes |",
        "| --- | --- | ---: | --- | --- | --- | --- |",
    ]
    for r in rows:
        met = {True: "met", False: "**not met**", None: ""}[r["met"]]
        lines.append(
            f"| {_cell(r['section'])} | {_cell(r['metric'])} | {_cell(r['value'])} "
            f"| {_cell(r['unit'])} | {_cell(r['target'])} | {met} | {_cell(r['detail'])} |"
        )
    return "\n".join(lines)


def write_readme(block: str, path: Path) -> None:
    """Replace the text between the result markers of `path` (append them if missing)."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = f"{head}{START}\n{block}\n{END}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{START}\n{block}\n{END}\n".lstrip()
    path.write_text(text)


def main(smoke: bool, output: Path | None, rows_json: Path | None, only: list[str]) -> int:
    """Run the suite; returns the process exit code (non-zero when a module failed)."""
    started = time.monotonic()
    modules = [m for m in discover() if not only or m in only]
    rows: list[Row] = []
    failed = False
    for module in modules:
        got, elapsed = run_module(module, smoke)
        print(f"{module}: {len(got)} rows in {elapsed:.1f} s", flush=True)
        failed = failed or any(r["metric"] == "module failed" for r in got)
        rows.extend(got)
    rows.sort(key=_section_number)  # stable: module order within a section
    block = table(rows, machine(), smoke, time.monotonic() - started)
    target = output if output is not None else (None if smoke else README)
    if target is not None:
        write_readme(block, target)
        print(f"wrote {target}")
    else:
        print(block)
    if rows_json is not None:
        rows_json.write_text(json.dumps(rows, indent=1, default=str))
    return 1 if failed else 0
