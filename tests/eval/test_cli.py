"""`myagent dataset import` and `myagent eval` as real processes over a SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from myagent.trace import SQLiteTraceStorage

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **extra}


def myagent(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "myagent.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(**env),
        timeout=120,
    )


def _import(tmp_path: Path, db: Path, count: int = 6) -> None:
    data = tmp_path / "math.jsonl"
    lines = [f'{{"input": "what is {a}+{a}?", "expected_output": "{2 * a}"}}' for a in range(count)]
    data.write_text("\n".join(lines) + "\n")
    done = myagent("dataset", "import", str(data), "--name", "math", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"imported {count} items into 'math'" in done.stdout


def test_dataset_import_list_show(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _import(tmp_path, db)
    csv_file = tmp_path / "more.csv"
    csv_file.write_text("input,expected_output\nhello,hi\n")
    assert (
        myagent("dataset", "import", str(csv_file), "--name", "math", "--db", str(db)).returncode
        == 0
    )
    listed = myagent("dataset", "list", "--db", str(db))
    assert "math\t7 items\t7 versions" in listed.stdout
    shown = myagent("dataset", "show", "math", "--db", str(db))
    assert len(shown.stdout.splitlines()) == 7 and '"expected_output":"hi"' in shown.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"expected_output": 1}\n')
    failed = myagent("dataset", "import", str(bad), "--name", "math", "--db", str(db))
    assert failed.returncode == 2 and "line 1: no 'input'" in failed.stderr


def test_eval_gates_on_scores(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _import(tmp_path, db)
    common = ["eval", "math", "--agent", "tests.eval.agents:create_agent", "--db", str(db)]
    good = myagent(
        *common,
        "--evaluator",
        "contains",
        "--evaluator",
        "tool_called:calculator",
        "--fail-under",
        "contains=0.9",
        "--new",
        "--report",
        str(tmp_path / "report.json"),
    )
    assert good.returncode == 0, good.stderr
    assert "contains: mean 1.000 over 6" in good.stdout and "pass rate 100.0%" in good.stdout
    assert "6/6" in good.stderr  # the progress bar
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["scores"]["contains"]["mean"] == 1.0 and len(report["items"]) == 6
    strict = myagent(
        *common, "--evaluator", "exact_match", "--fail-under", "exact_match=0.5", "--new"
    )
    assert strict.returncode == 1
    assert "FAIL exact_match: 0.000 < 0.5" in strict.stderr
    unknown = myagent(*common, "--evaluator", "no.such.module:fn")
    assert unknown.returncode == 2


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _import(tmp_path, db, count=20)
    args = ["eval", "math", "--agent", "tests.eval.agents:create_echo", "--db", str(db)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "myagent.cli",
            *args,
            "--concurrency",
            "2",
            "--evaluator",
            "contains",
        ],
        cwd=ROOT,
        env=_env(SLOW_AGENT="0.3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    storage = SQLiteTraceStorage(db)
    deadline = time.monotonic() + 60
    experiments = []
    while time.monotonic() < deadline:
        experiments = asyncio.run(storage.experiments(dataset="math"))
        if (
            experiments
            and len(asyncio.run(storage.experiment_runs(experiments[0].experiment_id))) >= 4
        ):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    [info] = asyncio.run(storage.experiments(dataset="math"))
    assert info.status == "interrupted"
    ran = len(asyncio.run(storage.experiment_runs(info.experiment_id)))
    assert 4 <= ran < 20
    again = myagent(*args, "--evaluator", "contains")
    assert again.returncode == 0, again.stderr
    assert f"resuming experiment {info.experiment_id}" in again.stderr
    assert "items 20/20" in again.stdout
    [info] = asyncio.run(storage.experiments(dataset="math"))
    assert info.status == "finished"
    runs = asyncio.run(storage.experiment_runs(info.experiment_id))
    assert len(runs) == 20 and len({r["trace_id"] for r in runs}) == 20
    storage.close_sync()
