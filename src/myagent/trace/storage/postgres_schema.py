"""The PostgreSQL schema: the SQLite layout in PostgreSQL types, as versioned migrations.

Tables live in their own schema (namespace, default `myagent`) so they never collide
with an application's own `traces` table. Applied migrations are recorded in
`schema_migrations`; a transaction-scoped advisory lock makes concurrent first starts
of many agent hosts safe.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from myagent.trace.storage.sql_eval import eval_schema

HOUR_US = 3_600_000_000
"""The roll-up's time bucket: the tool table of a window reads whole hours from it."""

DURATION_BOUNDS: tuple[int, ...] = tuple(sorted({round(2 ** (k / 4)) for k in range(161)}))
"""Lower bounds (µs) of the roll-up's duration buckets, four per doubling (≤ 19% wide)
from 1 µs to 2^40 µs (12.7 days). Bucket i (`width_bucket`) holds durations from
DURATION_BOUNDS[i - 1] (bucket 0: anything below 1 µs) up to DURATION_BOUNDS[i]
(the last bucket: no upper bound); -1 holds calls without an end."""

_HOUR = f"(start_us - mod(mod(start_us, {HOUR_US}) + {HOUR_US}, {HOUR_US}))"
_DELTA = (
    "SELECT {hour} AS hour_us, tool_name, tool_duration_bucket(end_us - start_us) AS bucket, "
    "{sign} COUNT(*) AS calls, {sign} COUNT(*) FILTER (WHERE success) AS success, "
    "{sign} COALESCE(SUM(end_us - start_us), 0) AS total_us FROM {rows} "
    "WHERE tool_name IS NOT NULL GROUP BY 1, 2, 3"
)
_PENDING = "INSERT INTO tool_hours_pending (hour_us, tool_name, bucket, calls, success, total_us) "


def _statement_triggers(name: str, table: str) -> str:
    """DDL of the three statement triggers keeping roll-up `name` in step with `table`:
    `tr_{name}_insert|delete|update`, calling `{name}_inserted|deleted|updated()` with
    the statement's transition tables (`new_rows`, `old_rows`)."""
    return (
        f"CREATE TRIGGER tr_{name}_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_inserted(); "
        f"CREATE TRIGGER tr_{name}_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_deleted(); "
        f"CREATE TRIGGER tr_{name}_update AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_updated();"
    )


def _tool_hours_migration() -> str:
    """Migration 8: the tool-call roll-up (see the comment in MIGRATIONS)."""
    bounds = "'{" + ",".join(str(b) for b in DURATION_BOUNDS) + "}'::bigint[]"
    inserted = _DELTA.format(hour=_HOUR, sign="", rows="new_rows")
    deleted = _DELTA.format(hour=_HOUR, sign="-", rows="old_rows")
    return f"""
    CREATE TABLE IF NOT EXISTS tool_hours (
        hour_us BIGINT NOT NULL,
        tool_name TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        calls BIGINT NOT NULL,
        success BIGINT NOT NULL,
        total_us BIGINT NOT NULL,
        PRIMARY KEY (hour_us, tool_name, bucket)
    );
    CREATE TABLE IF NOT EXISTS tool_hours_pending (
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        hour_us BIGINT NOT NULL,
        tool_name TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        calls BIGINT NOT NULL,
        success BIGINT NOT NULL,
        total_us BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ix_tool_hours_pending ON tool_hours_pending (xid);
    CREATE OR REPLACE FUNCTION tool_duration_bucket(d BIGINT) RETURNS INTEGER
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN d IS NULL THEN -1 ELSE width_bucket(d, {bounds}) END $$;
    CREATE OR REPLACE FUNCTION tool_hours_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PENDING}{inserted};
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION tool_hours_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PENDING}{deleted};
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION tool_hours_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PENDING}{deleted} UNION ALL {inserted};
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION tool_hours_fold() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        emptied BIGINT[];
    BEGIN
        WITH gone AS (
            DELETE FROM tool_hours_pending WHERE xid = pg_current_xact_id_if_assigned()
            RETURNING *
        ), changed AS (
            INSERT INTO tool_hours (hour_us, tool_name, bucket, calls, success, total_us)
            SELECT hour_us, tool_name, bucket, SUM(calls), SUM(success), SUM(total_us)
            FROM gone GROUP BY 1, 2, 3
            HAVING SUM(calls) <> 0 OR SUM(success) <> 0 OR SUM(total_us) <> 0
            ORDER BY 1, 2, 3
            ON CONFLICT (hour_us, tool_name, bucket) DO UPDATE SET
                calls = tool_hours.calls + EXCLUDED.calls,
                success = tool_hours.success + EXCLUDED.success,
                total_us = tool_hours.total_us + EXCLUDED.total_us
            RETURNING hour_us, calls
        )
        SELECT array_agg(DISTINCT hour_us) INTO emptied FROM changed WHERE calls = 0;
        IF emptied IS NOT NULL THEN
            DELETE FROM tool_hours WHERE hour_us = ANY(emptied) AND calls = 0;
        END IF;
        RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS tr_tool_hours_insert ON runs;
    DROP TRIGGER IF EXISTS tr_tool_hours_delete ON runs;
    DROP TRIGGER IF EXISTS tr_tool_hours_update ON runs;
    DROP TRIGGER IF EXISTS tr_tool_hours_fold ON traces;
    {_statement_triggers("tool_hours", "runs")}
    CREATE TRIGGER tr_tool_hours_fold AFTER INSERT OR UPDATE OR DELETE ON traces
    FOR EACH STATEMENT EXECUTE FUNCTION tool_hours_fold();
    TRUNCATE tool_hours, tool_hours_pending;
    INSERT INTO tool_hours (hour_us, tool_name, bucket, calls, success, total_us)
    {_DELTA.format(hour=_HOUR, sign="", rows="runs")};
    """


MIGRATIONS: list[str] = [
    # 1: traces with roll-ups, records, full-text search, change stamps. Costs are
    # NUMERIC holding each float's exact binary value, so sums are exact and agree with
    # `math.fsum` (myagent.trace.stats) whatever the row order. `metadata_json` keeps
    # the exact JSON text of each object or array metadata value (JSONB forgets key
    # order), for the filter's text equality of such values.
    """
    CREATE TABLE traces (
        trace_id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT,
        agent_name TEXT,
        session_id TEXT,
        status TEXT NOT NULL,
        start_us BIGINT NOT NULL,
        end_us BIGINT,
        duration DOUBLE PRECISION,
        has_errors BOOLEAN NOT NULL DEFAULT FALSE,
        error_count INTEGER NOT NULL DEFAULT 0,
        run_count INTEGER NOT NULL DEFAULT 0,
        think_count INTEGER NOT NULL DEFAULT 0,
        tool_count INTEGER NOT NULL DEFAULT 0,
        tokens_used BIGINT NOT NULL DEFAULT 0,
        cost_usd NUMERIC,
        input_preview TEXT,
        output_preview TEXT,
        error TEXT,
        tags JSONB NOT NULL DEFAULT '[]',
        metadata JSONB NOT NULL DEFAULT '{}',
        tools JSONB NOT NULL DEFAULT '[]',
        models JSONB NOT NULL DEFAULT '[]',
        metadata_json JSONB NOT NULL DEFAULT '{}',
        search TSVECTOR NOT NULL DEFAULT ''::tsvector,
        updated_us BIGINT NOT NULL DEFAULT 0,
        data BYTEA NOT NULL
    );
    CREATE INDEX ix_traces_start ON traces (start_us, trace_id);
    CREATE INDEX ix_traces_agent ON traces (agent_name, start_us);
    CREATE INDEX ix_traces_session ON traces (session_id, start_us);
    CREATE INDEX ix_traces_errors ON traces (has_errors, start_us);
    CREATE INDEX ix_traces_updated ON traces (updated_us);
    CREATE INDEX ix_traces_tools ON traces USING GIN (tools);
    CREATE INDEX ix_traces_models ON traces USING GIN (models);
    CREATE INDEX ix_traces_tags ON traces USING GIN (tags);
    CREATE INDEX ix_traces_metadata ON traces USING GIN (metadata jsonb_path_ops);
    CREATE INDEX ix_traces_search ON traces USING GIN (search);

    CREATE TABLE runs (
        trace_id TEXT COLLATE "C" NOT NULL,
        run_id TEXT COLLATE "C" NOT NULL,
        ord INTEGER NOT NULL,
        parent_id TEXT,
        run_type TEXT NOT NULL,
        name TEXT,
        tool_name TEXT,
        model TEXT,
        start_us BIGINT NOT NULL,
        end_us BIGINT,
        duration DOUBLE PRECISION,
        success BOOLEAN NOT NULL,
        error_type TEXT,
        error TEXT,
        tokens_used BIGINT NOT NULL DEFAULT 0,
        cost_usd NUMERIC,
        data BYTEA NOT NULL,
        PRIMARY KEY (trace_id, run_id)
    );
    CREATE INDEX ix_runs_start ON runs (start_us, run_id);
    CREATE INDEX ix_runs_tool ON runs (tool_name, start_us) WHERE tool_name IS NOT NULL;

    -- One row: the last change stamp handed out. Writers lock it until they commit,
    -- so stamps grow in commit order and a viewer polling `updated_us > seen` misses
    -- nothing.
    CREATE TABLE change_clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        stamp BIGINT NOT NULL
    );
    INSERT INTO change_clock VALUES (1, 0);
    """,
    # 2 (writer health): each writer process upserts its counters (submitted, written,
    # dropped by reason) here, so a viewer in another process can show them.
    """
    CREATE TABLE writer_health (
        writer_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL,
        submitted BIGINT NOT NULL DEFAULT 0,
        written BIGINT NOT NULL DEFAULT 0,
        partial_writes BIGINT NOT NULL DEFAULT 0,
        write_errors BIGINT NOT NULL DEFAULT 0,
        dropped_total BIGINT NOT NULL DEFAULT 0,
        dropped JSONB NOT NULL DEFAULT '{}',
        buffer_depth BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        closed BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX ix_writer_health_updated ON writer_health (updated_us);
    """,
    # 3 (evaluation): scores beside traces, score configs, dataset item versions,
    # experiments and which trace ran each of their items (see sql_eval).
    eval_schema(real="DOUBLE PRECISION", big="BIGINT", id_type='TEXT COLLATE "C"'),
    # 4 (viewer filters): facet counts, the traces carrying each agent, model, tool and
    # tag, kept by a trigger on every trace write, so the filter comboboxes read a few
    # rows however many traces there are (`myagent.trace.facets` defines the counts).
    # Trace rows are written after the change clock is taken, so writers update these
    # rows one transaction at a time.
    """
    CREATE TABLE trace_facets (
        field TEXT NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (field, value)
    );
    CREATE FUNCTION trace_facet_pairs(agent TEXT, models JSONB, tools JSONB, tags JSONB)
    RETURNS TABLE (field TEXT, value TEXT) LANGUAGE sql IMMUTABLE AS $$
        SELECT 'agent', agent WHERE agent IS NOT NULL
        UNION SELECT 'model', v FROM jsonb_array_elements_text(models) v WHERE v IS NOT NULL
        UNION SELECT 'tool', v FROM jsonb_array_elements_text(tools) v WHERE v IS NOT NULL
        UNION SELECT 'tag', v FROM jsonb_array_elements_text(tags) v WHERE v IS NOT NULL
    $$;
    CREATE FUNCTION trace_facets_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            UPDATE trace_facets f SET n = f.n - 1
            FROM trace_facet_pairs(OLD.agent_name, OLD.models, OLD.tools, OLD.tags) o
            WHERE f.field = o.field AND f.value = o.value;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO trace_facets (field, value, n)
            SELECT p.field, p.value, 1
            FROM trace_facet_pairs(NEW.agent_name, NEW.models, NEW.tools, NEW.tags) p
            ORDER BY 1, 2
            ON CONFLICT (field, value) DO UPDATE SET n = trace_facets.n + 1;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER tr_trace_facets AFTER INSERT OR DELETE ON traces
    FOR EACH ROW EXECUTE FUNCTION trace_facets_count();
    CREATE TRIGGER tr_trace_facets_update AFTER UPDATE OF agent_name, models, tools, tags
    ON traces FOR EACH ROW WHEN (
        OLD.agent_name IS DISTINCT FROM NEW.agent_name OR OLD.models IS DISTINCT FROM
        NEW.models OR OLD.tools IS DISTINCT FROM NEW.tools OR OLD.tags IS DISTINCT FROM NEW.tags
    ) EXECUTE FUNCTION trace_facets_count();
    INSERT INTO trace_facets (field, value, n)
    SELECT p.field, p.value, COUNT(*) FROM traces t,
        LATERAL trace_facet_pairs(t.agent_name, t.models, t.tools, t.tags) p
    GROUP BY p.field, p.value;
    """,
    # 5 (analytics by agent): each record row carries its trace's agent name
    # (`trace_agent`, written with the row; old rows filled here), and covering indexes
    # ordered by (tool, duration) and (agent, tool, duration): the tool table reads
    # durations in order from the index (percentiles are short index walks) instead of
    # sorting every call, and one agent's table reads only that agent's entries.
    """
    ALTER TABLE runs ADD COLUMN trace_agent TEXT;
    UPDATE runs r SET trace_agent = t.agent_name FROM traces t
        WHERE t.trace_id = r.trace_id AND t.agent_name IS NOT NULL;
    CREATE INDEX ix_runs_tool_stats ON runs (tool_name, (end_us - start_us))
        INCLUDE (success, start_us, end_us) WHERE tool_name IS NOT NULL;
    CREATE INDEX ix_runs_agent_tool ON runs (trace_agent, tool_name, (end_us - start_us))
        INCLUDE (success, start_us, end_us) WHERE tool_name IS NOT NULL;
    """,
    # 6 (analytics at scale): covering indexes, so aggregates read an index instead of
    # fetching scattered rows: one agent's stats (its traces in response-time order, with
    # what the figures and the tool usage need), and the tool table of a time window.
    """
    CREATE INDEX ix_traces_agent_stats ON traces (agent_name, (end_us - start_us))
        INCLUDE (status, has_errors, tokens_used, cost_usd, start_us, end_us, tools);
    CREATE INDEX ix_runs_tool_window ON runs (start_us)
        INCLUDE (tool_name, end_us, success) WHERE tool_name IS NOT NULL;
    """,
    # 7 (facet counts per statement): the row triggers of migration 4 made every written
    # or deleted trace update its counter rows one by one (a 127k-trace retention delete
    # held writers for minutes); statement triggers with transition tables apply one
    # grouped change per statement instead, in key order (written to be re-runnable).
    """
    DROP TRIGGER IF EXISTS tr_trace_facets ON traces;
    DROP TRIGGER IF EXISTS tr_trace_facets_update ON traces;
    DROP TRIGGER IF EXISTS tr_trace_facets_insert ON traces;
    DROP TRIGGER IF EXISTS tr_trace_facets_delete ON traces;
    DROP FUNCTION IF EXISTS trace_facets_count();
    CREATE OR REPLACE FUNCTION trace_facets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO trace_facets (field, value, n)
        SELECT p.field, p.value, COUNT(*) FROM new_rows t,
            LATERAL trace_facet_pairs(t.agent_name, t.models, t.tools, t.tags) p
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (field, value) DO UPDATE SET n = trace_facets.n + EXCLUDED.n;
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION trace_facets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO trace_facets (field, value, n)
        SELECT p.field, p.value, -COUNT(*) FROM old_rows t,
            LATERAL trace_facet_pairs(t.agent_name, t.models, t.tools, t.tags) p
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (field, value) DO UPDATE SET n = trace_facets.n + EXCLUDED.n;
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION trace_facets_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO trace_facets (field, value, n)
        SELECT p.field, p.value, SUM(t.sign) FROM (
            SELECT o.agent_name, o.models, o.tools, o.tags, -1 AS sign FROM old_rows o
            UNION ALL
            SELECT n.agent_name, n.models, n.tools, n.tags, 1 FROM new_rows n
        ) t, LATERAL trace_facet_pairs(t.agent_name, t.models, t.tools, t.tags) p
        GROUP BY 1, 2 HAVING SUM(t.sign) <> 0 ORDER BY 1, 2
        ON CONFLICT (field, value) DO UPDATE SET n = trace_facets.n + EXCLUDED.n;
        RETURN NULL;
    END $$;
    """
    + _statement_triggers("trace_facets", "traces"),
    # 8 (tool table at scale): per-tool, per-hour counts, errors and duration sums by
    # duration bucket (`DURATION_BOUNDS`), so the tool table reads a few thousand
    # roll-up rows instead of every call, and finds each percentile's exact value by a
    # short walk inside its bucket on `ix_runs_tool_stats`. Statement triggers on `runs`
    # queue each statement's grouped change in `tool_hours_pending` (no shared row is
    # locked then: a writer writes its records before it takes the change clock); a
    # statement trigger on `traces`, which writers touch only while they hold the clock,
    # folds the transaction's queue into `tool_hours` in key order. Readers add whatever
    # is still queued, so the figures are right whoever deletes or writes records.
    # Re-runnable: the roll-up is rebuilt from `runs` (writers wait meanwhile).
    _tool_hours_migration(),
]

_MIGRATION_LOCK = 0x6D79_6167  # "myag": one advisory lock id for schema changes


def migrate(conn: Any, schema: str) -> int:
    """Bring `schema` to the newest version in one transaction; safe when hosts race.

    `conn` is a psycopg Connection outside a transaction; returns the version reached.
    """
    name = sql.Identifier(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(name))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        version = int(row[0])
        for number in range(version, len(MIGRATIONS)):
            conn.execute(MIGRATIONS[number])
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number + 1,))
    return max(version, len(MIGRATIONS))
