"""The SQLite schema, as versioned migrations applied in order (tracked by user_version).

Each trace row carries roll-ups written with it (status, duration, counts, tokens,
cost, previews) so lists and dashboards never aggregate records on read.
"""

from __future__ import annotations

import sqlite3

from myagent.trace.storage.sql_eval import eval_schema

MIGRATIONS: list[str] = [
    # 1: traces with roll-ups, records, full-text index.
    """
    CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY,
        name TEXT,
        agent_name TEXT,
        session_id TEXT,
        status TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        end_us INTEGER,
        duration REAL,
        has_errors INTEGER NOT NULL DEFAULT 0,
        error_count INTEGER NOT NULL DEFAULT 0,
        run_count INTEGER NOT NULL DEFAULT 0,
        think_count INTEGER NOT NULL DEFAULT 0,
        tool_count INTEGER NOT NULL DEFAULT 0,
        tokens_used INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL,
        input_preview TEXT,
        output_preview TEXT,
        error TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        tools TEXT NOT NULL DEFAULT '[]',
        models TEXT NOT NULL DEFAULT '[]',
        data BLOB NOT NULL
    );
    CREATE INDEX ix_traces_start ON traces (start_us, trace_id);
    CREATE INDEX ix_traces_agent ON traces (agent_name, start_us);
    CREATE INDEX ix_traces_session ON traces (session_id, start_us);
    CREATE INDEX ix_traces_errors ON traces (has_errors, start_us);

    CREATE TABLE runs (
        trace_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        parent_id TEXT,
        run_type TEXT NOT NULL,
        name TEXT,
        tool_name TEXT,
        model TEXT,
        start_us INTEGER NOT NULL,
        end_us INTEGER,
        duration REAL,
        success INTEGER NOT NULL,
        error_type TEXT,
        tokens_used INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL,
        data BLOB NOT NULL,
        UNIQUE (trace_id, run_id)
    );
    CREATE INDEX ix_runs_tool ON runs (tool_name, start_us) WHERE tool_name IS NOT NULL;

    CREATE VIRTUAL TABLE traces_fts USING fts5 (body, tokenize = 'unicode61');
    """,
    # 2 (viewer live feed): a change stamp per trace row, strictly increasing in commit
    # order, so a viewer in another process polls `updated_us > last seen` on an index.
    """
    ALTER TABLE traces ADD COLUMN updated_us INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX ix_traces_updated ON traces (updated_us);
    """,
    # 3 (analytics): covering indexes, so one agent's stats and the tool usage table
    # read an index instead of every row: ordered by duration for percentile walks.
    """
    CREATE INDEX ix_traces_agent_stats ON traces (
        agent_name, duration, status, has_errors, tokens_used, cost_usd, start_us, tools
    );
    CREATE INDEX ix_runs_tool_stats ON runs (tool_name, duration, success, start_us)
        WHERE tool_name IS NOT NULL;
    """,
    # 4 (viewer list pages): the filter indexes end with the list's keyset order (start,
    # id), so a filtered page walks one index in order instead of sorting every match.
    """
    DROP INDEX ix_traces_agent;
    CREATE INDEX ix_traces_agent ON traces (agent_name, start_us, trace_id);
    DROP INDEX ix_traces_session;
    CREATE INDEX ix_traces_session ON traces (session_id, start_us, trace_id);
    DROP INDEX ix_traces_errors;
    CREATE INDEX ix_traces_errors ON traces (has_errors, start_us, trace_id);
    CREATE INDEX IF NOT EXISTS ix_traces_status ON traces (status, start_us, trace_id);
    """,
    # 5 (analytics over a time window): the tool index also carries duration and success,
    # so the tool table of a window reads one short index range per tool.
    """
    DROP INDEX ix_runs_tool;
    CREATE INDEX ix_runs_tool ON runs (tool_name, start_us, duration, success)
        WHERE tool_name IS NOT NULL;
    """,
    # 6 (analytics): a record's duration as exact integer microseconds (a virtual column,
    # end_us - start_us), in the tool indexes: the tool table sums it with no rounding.
    """
    ALTER TABLE runs ADD COLUMN duration_us INTEGER
        GENERATED ALWAYS AS (end_us - start_us) VIRTUAL;
    DROP INDEX ix_runs_tool_stats;
    CREATE INDEX ix_runs_tool_stats ON runs (tool_name, duration_us, success, start_us)
        WHERE tool_name IS NOT NULL;
    DROP INDEX ix_runs_tool;
    CREATE INDEX ix_runs_tool ON runs (tool_name, start_us, duration_us, success)
        WHERE tool_name IS NOT NULL;
    """,
    # 7 (search at scale): the search index gains prefix indexes for 2-4 characters (a
    # short search word reads one entry instead of merging every term it begins), a
    # vocabulary view (a longer word is expanded to the few terms it begins), and
    # `trace_blocks`: the start-time range of each block of 1024 rowids, so a search
    # walking the index newest-first knows when no older row can still come first.
    """
    CREATE VIRTUAL TABLE traces_fts_new USING fts5 (
        body, tokenize = 'unicode61', prefix = '2 3 4'
    );
    INSERT INTO traces_fts_new (rowid, body) SELECT rowid, body FROM traces_fts;
    DROP TABLE traces_fts;
    ALTER TABLE traces_fts_new RENAME TO traces_fts;
    CREATE VIRTUAL TABLE traces_fts_terms USING fts5vocab (traces_fts, instance);
    CREATE TABLE trace_blocks (
        block INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL
    );
    INSERT INTO trace_blocks SELECT rowid >> 10, MIN(start_us), MAX(start_us)
        FROM traces GROUP BY 1;
    """,
    # 8 (writer health): each writer process upserts its counters (submitted, written,
    # dropped by reason) here, so a viewer in another process can show them.
    """
    CREATE TABLE writer_health (
        writer_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        submitted INTEGER NOT NULL DEFAULT 0,
        written INTEGER NOT NULL DEFAULT 0,
        partial_writes INTEGER NOT NULL DEFAULT 0,
        write_errors INTEGER NOT NULL DEFAULT 0,
        dropped_total INTEGER NOT NULL DEFAULT 0,
        dropped TEXT NOT NULL DEFAULT '{}',
        buffer_depth INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_writer_health_updated ON writer_health (updated_us);
    """,
    # 9 (evaluation): scores beside traces, score configs, dataset item versions,
    # experiments and which trace ran each of their items (see sql_eval).
    eval_schema(real="REAL", big="INTEGER", id_type="TEXT"),
    # 10 (viewer filters): facet counts, the traces carrying each agent, model, tool and
    # tag, kept by triggers on every trace write, so the filter comboboxes read a few
    # rows however many traces there are (`myagent.trace.facets` defines the counts).
    """
    CREATE TABLE trace_facets (
        field TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (field, value)
    ) WITHOUT ROWID;
    CREATE TRIGGER tr_trace_facets_insert AFTER INSERT ON traces BEGIN
        INSERT INTO trace_facets (field, value, n)
        SELECT field, value, 1 FROM (FACETS_OF_NEW) WHERE value IS NOT NULL
        ON CONFLICT (field, value) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER tr_trace_facets_delete AFTER DELETE ON traces BEGIN
        UPDATE trace_facets SET n = n - 1
        WHERE (field, value) IN (SELECT field, value FROM (FACETS_OF_OLD));
    END;
    CREATE TRIGGER tr_trace_facets_update AFTER UPDATE OF agent_name, models, tools, tags
    ON traces WHEN OLD.agent_name IS NOT NEW.agent_name OR OLD.models IS NOT NEW.models
        OR OLD.tools IS NOT NEW.tools OR OLD.tags IS NOT NEW.tags BEGIN
        UPDATE trace_facets SET n = n - 1
        WHERE (field, value) IN (SELECT field, value FROM (FACETS_OF_OLD));
        INSERT INTO trace_facets (field, value, n)
        SELECT field, value, 1 FROM (FACETS_OF_NEW) WHERE value IS NOT NULL
        ON CONFLICT (field, value) DO UPDATE SET n = n + 1;
    END;
    INSERT INTO trace_facets (field, value, n)
    SELECT 'agent', agent_name, COUNT(*) FROM traces WHERE agent_name IS NOT NULL
    GROUP BY agent_name;
    INSERT INTO trace_facets (field, value, n)
    SELECT 'model', j.value, COUNT(DISTINCT t.rowid) FROM traces t, json_each(t.models) j
    WHERE j.value IS NOT NULL GROUP BY j.value;
    INSERT INTO trace_facets (field, value, n)
    SELECT 'tool', j.value, COUNT(DISTINCT t.rowid) FROM traces t, json_each(t.tools) j
    WHERE j.value IS NOT NULL GROUP BY j.value;
    INSERT INTO trace_facets (field, value, n)
    SELECT 'tag', j.value, COUNT(DISTINCT t.rowid) FROM traces t, json_each(t.tags) j
    WHERE j.value IS NOT NULL GROUP BY j.value;
    """,
    # 11 (analytics by agent): each record row carries its trace's agent name
    # (`trace_agent`, written with the row; old rows filled here), and a covering index
    # ordered by (agent, tool, duration): one agent's tool table walks its own short
    # ranges instead of looking up every record of the agent's traces one by one.
    """
    ALTER TABLE runs ADD COLUMN trace_agent TEXT;
    UPDATE runs SET trace_agent = (
        SELECT t.agent_name FROM traces t WHERE t.trace_id = runs.trace_id
    );
    CREATE INDEX ix_runs_agent_tool ON runs (trace_agent, tool_name, duration_us, success, start_us)
        WHERE tool_name IS NOT NULL;
    """,
    # 12 (ingest, issue 19): the facet counts of written traces are kept by the write
    # path, two grouped statements per batch (`sqlite.UNCOUNT_FACETS`, `COUNT_FACETS`),
    # instead of row triggers on insert and update (≈ 40 µs per trace); deletes keep theirs.
    """
    DROP TRIGGER IF EXISTS tr_trace_facets_insert;
    DROP TRIGGER IF EXISTS tr_trace_facets_update;
    """,
]


def _facets_of(row: str) -> str:
    """The distinct (field, value) pairs of trace row `row` (NEW or OLD in a trigger)."""
    return (
        f"SELECT 'agent' AS field, {row}.agent_name AS value "
        f"UNION SELECT 'model', value FROM json_each({row}.models) "
        f"UNION SELECT 'tool', value FROM json_each({row}.tools) "
        f"UNION SELECT 'tag', value FROM json_each({row}.tags)"
    )


# the facet triggers' placeholders (in whichever migration holds them)
MIGRATIONS[:] = [
    m.replace("FACETS_OF_NEW", _facets_of("NEW")).replace("FACETS_OF_OLD", _facets_of("OLD"))
    for m in MIGRATIONS
]

BLOCK_BITS = 10
"""`trace_blocks` keys: rowid >> BLOCK_BITS (blocks of 1024 rowids)."""

PREFIX_LENGTHS = (2, 3, 4)
"""Search words of these lengths have their own prefix index in `traces_fts`."""


def statements(script: str) -> list[str]:
    """The statements of an SQL script, triggers' bodies kept whole."""
    found, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                found.append(pending)
            pending = ""
    return found


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; safe when several processes race."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(MIGRATIONS):
        return int(version)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, len(MIGRATIONS)):
            for statement in statements(MIGRATIONS[number]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)
