"""The earlier SQLite text-to-SQL example, written the old way, against a real SQLite
database and the loopback OpenAI-wire server: one trace, think and tool records as sent."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from myagent.trace import TraceManager
from tests.compat.programs import sqlite_text2sql
from tests.support.openai_server import OpenAITestServer


async def test_sqlite_text2sql_agent(
    old_env: OpenAITestServer, sqlite_manager: TraceManager, tmp_path: Path
) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE users (id INTEGER, name TEXT)")
        db.executemany("INSERT INTO users VALUES (?, ?)", [(1, "Ada"), (2, "Linus")])
    old_env.enqueue(None, tool_calls=[("db_schema", {})])
    old_env.enqueue(None, tool_calls=[("db_query", {"sql": "SELECT name FROM users ORDER BY id"})])
    old_env.enqueue(None, tool_calls=[("db_query", {"sql": "DELETE FROM users"})])
    old_env.enqueue("The users are Ada and Linus.")

    out = await sqlite_text2sql.main(str(database), "Who are the users?")

    assert out["result"] == out["final_response"] == "The users are Ada and Linus."
    assert out["sql"] == ["SELECT name FROM users ORDER BY id"]
    (trace,) = sqlite_manager.get_all_traces()
    kinds = [(r.run_type, getattr(r, "tool_name", None)) for r in trace.runs]
    assert kinds == [
        ("think", None),
        ("tool", "db_schema"),
        ("think", None),
        ("tool", "db_query"),
        ("think", None),
        ("tool", "db_query"),
        ("think", None),
    ]
    schema, query, refused = trace.tool_records
    assert schema.output == "Tables: users" and query.output == "Ada\nLinus"
    assert not refused.success and refused.error == "Only SELECT statements are allowed."
    assert trace.has_errors and trace.status == "success"
    exported = json.loads((tmp_path / "sqlite_text2sql_traces.json").read_text())
    assert exported["traces"][0]["trace_id"] == trace.trace_id
