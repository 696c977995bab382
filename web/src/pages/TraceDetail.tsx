// One run, three synchronized views: tree, waterfall and transcript, plus a detail pane.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ReplayLink } from "../components/ReplayLink";
import { useVirtualizer } from "@tanstack/react-virtual";
import { getJson, query } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import { useLiveTraces } from "../live";
import type { RecordOutline, TraceDetail } from "../types";
import { StatusBadge } from "../components/Status";
import { Waterfall, type WaterfallRow } from "../components/Waterfall";
import { RecordDetail } from "../components/RecordDetail";
import { Transcript } from "../components/Transcript";

/** Records in tree order (children under their parent, by start time) with depth. */
export function treeRows(records: RecordOutline[]): WaterfallRow[] {
  const ids = new Set(records.map((r) => r.run_id));
  const children = new Map<string | null, RecordOutline[]>();
  for (const r of records) {
    const parent = r.parent_id && ids.has(r.parent_id) ? r.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(r);
    children.set(parent, list);
  }
  const out: WaterfallRow[] = [];
  const stack: [RecordOutline, number][] = (children.get(null) ?? []).slice().reverse().map((r) => [r, 0]);
  while (stack.length) {
    const [record, depth] = stack.pop()!;
    out.push({ record, depth });
    const kids = children.get(record.run_id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return out;
}

function recordText(r: RecordOutline): string {
  const parts = [r.name, r.tool_name ?? "", r.model ?? "", r.error?.text ?? ""];
  for (const p of Object.values(r.previews)) parts.push(p.text);
  return parts.join("\n").toLowerCase();
}

export default function TraceDetailPage() {
  const { traceId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const selected = params.get("r");
  const find = params.get("find") ?? "";
  const [trace, setTrace] = useState<TraceDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [serverHits, setServerHits] = useState<string[]>([]);
  const [findInput, setFindInput] = useState(find);
  const refreshTimer = useRef<number | null>(null);
  const findBox = useRef<HTMLInputElement>(null);
  const treeBox = useRef<HTMLDivElement>(null);

  const load = useCallback(() => {
    getJson<TraceDetail>(`/api/traces/${encodeURIComponent(traceId)}`)
      .then((t) => {
        setTrace(t);
        setError(null);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [traceId]);

  useEffect(load, [load]);

  // Live: while the trace runs, its records appear as they happen.
  useLiveTraces(
    query({ trace_id: traceId }),
    () => {
      if (refreshTimer.current !== null) return;
      refreshTimer.current = window.setTimeout(() => {
        refreshTimer.current = null;
        load();
      }, 150);
    },
    load,
  );

  const rows = useMemo(() => (trace ? treeRows(trace.records) : []), [trace]);

  const setParam = useCallback(
    (key: string, value: string | null) => {
      setParams(
        (old) => {
          const next = new URLSearchParams(old);
          if (value) next.set(key, value);
          else next.delete(key);
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  const select = useCallback((runId: string) => setParam("r", runId), [setParam]);

  // Find in trace: previews here, whole payloads on the server.
  useEffect(() => {
    setServerHits([]);
    if (!find) return;
    const abort = new AbortController();
    getJson<{ hits: { run_id: string }[] }>(
      `/api/traces/${encodeURIComponent(traceId)}/search${query({ q: find })}`,
      abort.signal,
    )
      .then((r) => setServerHits(r.hits.map((h) => h.run_id)))
      .catch(() => undefined);
    return () => abort.abort();
  }, [find, traceId, trace?.run_count]);

  const matches = useMemo(() => {
    if (!find) return [] as string[];
    const needle = find.toLowerCase();
    const server = new Set(serverHits);
    return rows.filter(({ record }) => server.has(record.run_id) || recordText(record).includes(needle)).map((r) => r.record.run_id);
  }, [find, rows, serverHits]);
  const matchSet = useMemo(() => new Set(matches), [matches]);

  const step = useCallback(
    (ids: string[], direction: 1 | -1) => {
      if (!ids.length) return;
      const order = rows.map((r) => r.record.run_id);
      const current = selected ? order.indexOf(selected) : -1;
      const positions = ids.map((id) => order.indexOf(id)).sort((a, b) => a - b);
      const next =
        direction === 1
          ? positions.find((p) => p > current) ?? positions[0]
          : [...positions].reverse().find((p) => p < current) ?? positions[positions.length - 1];
      select(order[next]);
    },
    [rows, selected, select],
  );
  const errorIds = useMemo(() => rows.filter((r) => !r.record.success).map((r) => r.record.run_id), [rows]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("input, textarea, select, .cm-editor")) return;
      const order = rows.map((r) => r.record.run_id);
      const at = selected ? order.indexOf(selected) : -1;
      if (e.key === "j") select(order[Math.min(at + 1, order.length - 1)]);
      else if (e.key === "k") select(order[Math.max(at - 1, 0)]);
      else if (e.key === "e") step(errorIds, 1);
      else if (e.key === "n") step(matches, 1);
      else if (e.key === "N") step(matches, -1);
      else if (e.key === "/") {
        e.preventDefault();
        findBox.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, selected, select, step, errorIds, matches]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => treeBox.current,
    estimateSize: () => 26,
    overscan: 20,
  });
  useEffect(() => {
    const index = rows.findIndex((r) => r.record.run_id === selected);
    if (index >= 0) virtualizer.scrollToIndex(index, { align: "auto" });
  }, [selected, rows]); // eslint-disable-line react-hooks/exhaustive-deps

  if (error) return <p className="error-text page">{error}</p>;
  if (!trace) return <p className="page muted">Loading…</p>;
  const selectedRecord = trace.records.find((r) => r.run_id === selected) ?? null;
  const end = trace.end_us ?? Math.max(trace.start_us, ...trace.records.map((r) => r.end_us ?? r.start_us));

  return (
    <div className="page detail-page">
      <div className="detail-head">
        <Link to="/" className="back">
          ← Traces
        </Link>
        <h2>{trace.agent_name ?? trace.name}</h2>
        <StatusBadge status={trace.status} errors={trace.error_count} />
        <span className="stat">{fmtTime(trace.start_us)}</span>
        <span className="stat">{fmtDuration(trace.duration)}</span>
        <span className="stat">
          {trace.think_count} LLM · {trace.tool_count} tool
        </span>
        <span className="stat">{trace.tokens_used} tokens</span>
        <span className="stat">{fmtCost(trace.cost_usd)}</span>
        {trace.session_id && (
          <Link className="stat" to={`/sessions/${encodeURIComponent(trace.session_id)}`}>
            session {trace.session_id}
          </Link>
        )}
        <ReplayLink traceId={trace.trace_id} metadata={trace.metadata} />
        <form
          className="find"
          onSubmit={(e) => {
            e.preventDefault();
            setParam("find", findInput.trim() || null);
            findBox.current?.blur();
          }}
        >
          <input
            ref={findBox}
            value={findInput}
            onChange={(e) => setFindInput(e.target.value)}
            placeholder="Find in trace ( / )"
            aria-label="find in trace"
          />
          {find && (
            <span className="muted" data-testid="find-count">
              {matches.length} match{matches.length === 1 ? "" : "es"}
            </span>
          )}
          <button type="button" onClick={() => step(matches, 1)} disabled={!matches.length}>
            Next (n)
          </button>
        </form>
        <button onClick={() => step(errorIds, 1)} disabled={!errorIds.length} title="Next error (e)">
          Next error (e) {errorIds.length ? `· ${errorIds.length}` : ""}
        </button>
      </div>
      {trace.error && <div className="trace-error error-text">{trace.error}</div>}
      <div className="waterfall-box">
        <Waterfall
          rows={rows}
          traceStart={trace.start_us}
          traceEnd={end}
          selected={selected}
          highlighted={matchSet}
          onSelect={select}
        />
      </div>
      <div className="panes">
        <div className="pane tree" ref={treeBox} data-testid="tree">
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const { record, depth } = rows[item.index];
              return (
                <div
                  key={record.run_id}
                  className={`tree-row kind-${record.run_type} ${record.run_id === selected ? "selected" : ""} ${
                    record.success ? "" : "failed"
                  } ${matchSet.has(record.run_id) ? "match" : ""}`}
                  data-run-id={record.run_id}
                  style={{ transform: `translateY(${item.start}px)`, paddingLeft: 6 + depth * 14 }}
                  onClick={() => select(record.run_id)}
                >
                  <span className={`kind ${record.run_type}`}>{record.run_type}</span>
                  <span className="tree-name">{record.tool_name || record.name}</span>
                  <span className="muted tree-dur">{record.end_us === null ? "running" : fmtDuration(record.duration)}</span>
                </div>
              );
            })}
          </div>
        </div>
        <div className="pane transcript-pane" data-testid="transcript">
          <Transcript trace={trace} selected={selected} matches={matchSet} onSelect={select} />
        </div>
        <div className="pane detail" data-testid="detail">
          {selectedRecord ? (
            <RecordDetail traceId={traceId} record={selectedRecord} />
          ) : (
            <TraceOverview trace={trace} />
          )}
        </div>
      </div>
    </div>
  );
}

function TraceOverview({ trace }: { trace: TraceDetail }) {
  return (
    <div className="overview">
      <h3>Trace</h3>
      <p className="muted">Select a record in the tree, waterfall or transcript.</p>
      <dl>
        <dt>id</dt>
        <dd className="mono">{trace.trace_id}</dd>
        <dt>tags</dt>
        <dd>{trace.tags.join(", ") || "–"}</dd>
        <dt>models</dt>
        <dd>{trace.models.join(", ") || "–"}</dd>
        <dt>metadata</dt>
        <dd>
          <pre className="text">{JSON.stringify(trace.metadata, null, 2)}</pre>
        </dd>
      </dl>
      {trace.logs.length > 0 && (
        <>
          <h4>Logs</h4>
          <pre className="text">{trace.logs.map((l) => `${l.timestamp} ${l.level} ${l.message}`).join("\n")}</pre>
        </>
      )}
    </div>
  );
}
