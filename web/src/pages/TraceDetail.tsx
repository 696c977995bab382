// One run, three synchronized views: tree, waterfall and transcript, plus a detail pane;
// the run's input and final output on top.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ReplayLink } from "../components/ReplayLink";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ApiError, getJson, getText, query } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import { useLiveTraces } from "../live";
import type { FindHit, RecordOutline, TraceDetail } from "../types";
import { StatusBadge } from "../components/Status";
import { tickLabel, Waterfall, type WaterfallRow } from "../components/Waterfall";
import { RecordDetail } from "../components/RecordDetail";
import { Transcript } from "../components/Transcript";
import { EvalBar } from "../components/EvalBar";
import { CopyButton } from "../components/Copy";
import { MarkdownText } from "../components/Markdown";
import { NotFound } from "../components/NotFound";

/** Records in tree order (children under their parent, by start time) with depth and
 * the number of descendants; the descendants of `collapsed` records are left out. */
export function treeRows(records: RecordOutline[], collapsed: Set<string> = new Set()): WaterfallRow[] {
  const ids = new Set(records.map((r) => r.run_id));
  const children = new Map<string | null, RecordOutline[]>();
  for (const r of records) {
    const parent = r.parent_id && ids.has(r.parent_id) ? r.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(r);
    children.set(parent, list);
  }
  const descendants = new Map<string, number>();
  const count = (id: string): number => {
    const known = descendants.get(id);
    if (known !== undefined) return known;
    let n = 0;
    const stack = [...(children.get(id) ?? [])];
    while (stack.length) {
      const r = stack.pop()!;
      n += 1;
      stack.push(...(children.get(r.run_id) ?? []));
    }
    descendants.set(id, n);
    return n;
  };
  const out: WaterfallRow[] = [];
  const stack: [RecordOutline, number][] = (children.get(null) ?? []).slice().reverse().map((r) => [r, 0]);
  while (stack.length) {
    const [record, depth] = stack.pop()!;
    out.push({ record, depth, children: count(record.run_id) });
    if (collapsed.has(record.run_id)) continue;
    const kids = children.get(record.run_id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return out;
}

/** The trace's input or final output: a preview, the whole text on request, a copy button. */
function TraceValue({ traceId, field, title, preview }: { traceId: string; field: string; title: string; preview: TraceDetail["input"] }) {
  const [full, setFull] = useState<string | null>(null);
  if (!preview) return null;
  const text = full ?? preview.text;
  const url = `/api/traces/${encodeURIComponent(traceId)}/payload/${field}`;
  return (
    <section className={`io io-${field}`} data-testid={`trace-${field}`}>
      <div className="io-head">
        <b>{title}</b>
        <CopyButton value={text} what={`trace ${field}`} />
        {preview.clipped && full === null && (
          <button type="button" className="link" onClick={() => getText(url).then(setFull)}>
            Show all ({preview.size.toLocaleString()} chars)
          </button>
        )}
      </div>
      <MarkdownText text={text} />
    </section>
  );
}

export default function TraceDetailPage() {
  const { traceId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const selected = params.get("r");
  const find = params.get("find") ?? "";
  const [trace, setTrace] = useState<TraceDetail | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const [hits, setHits] = useState<FindHit[] | null>(null);
  const [withHistory, setWithHistory] = useState(false);
  const [findInput, setFindInput] = useState(find);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const jumpToFirst = useRef(Boolean(find) && !selected); // a link with ?find= opens at its first match
  const refreshTimer = useRef<number | null>(null);
  const findBox = useRef<HTMLInputElement>(null);
  const treeBox = useRef<HTMLDivElement>(null);

  const load = useCallback(() => {
    getJson<TraceDetail>(`/api/traces/${encodeURIComponent(traceId)}`)
      .then((t) => {
        setTrace(t);
        setError(null);
      })
      .catch((e) => setError({ status: e instanceof ApiError ? e.status : 0, message: String(e.message ?? e) }));
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
    error === null,
  );

  const rows = useMemo(() => (trace ? treeRows(trace.records, collapsed) : []), [trace, collapsed]);
  const toggle = useCallback(
    (runId: string) =>
      setCollapsed((old) => {
        const next = new Set(old);
        if (next.has(runId)) next.delete(runId);
        else next.add(runId);
        return next;
      }),
    [],
  );

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

  // Find in trace: whole payloads, on the server; own content first, history apart.
  useEffect(() => {
    setHits(null);
    if (!find) return;
    const abort = new AbortController();
    getJson<{ hits: FindHit[] }>(`/api/traces/${encodeURIComponent(traceId)}/search${query({ q: find })}`, abort.signal)
      .then((r) => setHits(r.hits))
      .catch(() => undefined);
    return () => abort.abort();
  }, [find, traceId, trace?.run_count]);

  const allRows = useMemo(() => (trace ? treeRows(trace.records) : []), [trace]);
  const order = useMemo(() => allRows.map((r) => r.record.run_id), [allRows]);
  const byTree = useCallback((ids: string[]) => ids.slice().sort((a, b) => order.indexOf(a) - order.indexOf(b)), [order]);
  const ownMatches = useMemo(() => byTree((hits ?? []).filter((h) => h.own).map((h) => h.run_id)), [hits, byTree]);
  const historyMatches = useMemo(() => byTree((hits ?? []).filter((h) => !h.own).map((h) => h.run_id)), [hits, byTree]);
  const matches = useMemo(() => (withHistory ? byTree([...ownMatches, ...historyMatches]) : ownMatches), [withHistory, ownMatches, historyMatches, byTree]);
  const matchSet = useMemo(() => new Set(matches), [matches]);

  // Select a record, opening the collapsed subtrees that hide it.
  const reveal = useCallback(
    (runId: string) => {
      if (!trace) return;
      const parents = new Map(trace.records.map((r) => [r.run_id, r.parent_id]));
      setCollapsed((old) => {
        let next = old;
        for (let p = parents.get(runId); p; p = parents.get(p)) {
          if (next.has(p)) {
            if (next === old) next = new Set(old);
            next.delete(p);
          }
        }
        return next;
      });
      select(runId);
    },
    [trace, select],
  );

  const step = useCallback(
    (ids: string[], direction: 1 | -1) => {
      if (!ids.length) return;
      const current = selected ? order.indexOf(selected) : -1;
      const positions = ids.map((id) => order.indexOf(id)).sort((a, b) => a - b);
      const next =
        direction === 1
          ? positions.find((p) => p > current) ?? positions[0]
          : [...positions].reverse().find((p) => p < current) ?? positions[positions.length - 1];
      reveal(order[next]);
    },
    [order, selected, reveal],
  );
  useEffect(() => {
    // Both the matches and the trace are needed (either may arrive first).
    if (hits && trace && jumpToFirst.current) {
      jumpToFirst.current = false;
      const first = ownMatches[0] ?? historyMatches[0];
      if (first) reveal(first);
    }
  }, [hits, trace]); // eslint-disable-line react-hooks/exhaustive-deps
  const errorIds = useMemo(() => allRows.filter((r) => !r.record.success).map((r) => r.record.run_id), [allRows]);

  const zoomToSelected = useCallback(() => {
    const record = trace?.records.find((r) => r.run_id === selected);
    if (!trace || !record) return;
    const start = record.start_us - trace.start_us;
    const end = (record.end_us ?? Date.now() * 1000) - trace.start_us;
    const pad = end > start ? (end - start) * 0.05 : 1;
    setZoom([Math.max(0, start - pad), end + pad]);
  }, [trace, selected]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("input, textarea, select, .cm-editor")) return;
      const visible = rows.map((r) => r.record.run_id);
      const at = selected ? visible.indexOf(selected) : -1;
      if (e.key === "j") select(visible[Math.min(at + 1, visible.length - 1)]);
      else if (e.key === "k") select(visible[Math.max(at - 1, 0)]);
      else if (e.key === "e") step(errorIds, 1);
      else if (e.key === "n") step(matches, 1);
      else if (e.key === "N") step(matches, -1);
      else if (e.key === "z") (zoom ? setZoom(null) : zoomToSelected());
      else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && selected) {
        const open = !collapsed.has(selected);
        if ((e.key === "ArrowLeft") === open) toggle(selected);
      } else if (e.key === "/") {
        e.preventDefault();
        findBox.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, selected, select, step, errorIds, matches, zoom, zoomToSelected, collapsed, toggle]);

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

  if (error) {
    return error.status === 404 ? (
      <NotFound what="trace" id={traceId} />
    ) : (
      <div className="page">
        <p className="error-text">{error.message}</p>
        <Link to="/">← Back to traces</Link>
      </div>
    );
  }
  if (!trace) return <p className="page muted">Loading…</p>;
  const selectedRecord = trace.records.find((r) => r.run_id === selected) ?? null;
  const end = trace.end_us ?? Math.max(trace.start_us, ...trace.records.map((r) => r.end_us ?? r.start_us));
  const total = Math.max(end - trace.start_us, 1);
  const position = matches.indexOf(selected ?? "");
  const title = trace.name || trace.agent_name || trace.trace_id;

  return (
    <div className="page detail-page">
      <div className="detail-head">
        <Link to="/" className="back">
          ← Traces
        </Link>
        <h2 data-testid="trace-title">{title}</h2>
        {trace.agent_name && trace.agent_name !== title && (
          <span className="agent-tag" data-testid="trace-agent">
            {trace.agent_name}
          </span>
        )}
        <StatusBadge status={trace.status} errors={trace.error_count} />
        <span className="stat">{fmtTime(trace.start_us)}</span>
        <span className="stat">{fmtDuration(trace.duration)}</span>
        <span className="stat">
          {trace.think_count} LLM · {trace.tool_count} tool
        </span>
        <span className="stat">{trace.tokens_used.toLocaleString()} tokens</span>
        <span className="stat">{fmtCost(trace.cost_usd)}</span>
        {trace.session_id && (
          <Link className="stat" to={`/sessions/${encodeURIComponent(trace.session_id)}`}>
            session {trace.session_id}
          </Link>
        )}
        <ReplayLink traceId={trace.trace_id} metadata={trace.metadata} />
        <CopyButton value={trace.trace_id} what="trace id" label="Copy id" />
        <CopyButton value={window.location.href} what="trace URL" label="Copy link" />
        <form
          className="find"
          onSubmit={(e) => {
            e.preventDefault();
            const text = findInput.trim();
            if (!text) setParam("find", null);
            else if (text === find) step(matches.length ? matches : historyMatches, 1);
            else {
              jumpToFirst.current = true;
              setParam("find", text);
            }
          }}
        >
          <input
            ref={findBox}
            value={findInput}
            onChange={(e) => setFindInput(e.target.value)}
            placeholder="Find in trace ( / )"
            aria-label="find in trace"
            type="search"
          />
          {find && hits && (
            <span className="muted" data-testid="find-count">
              {matches.length === 0 ? "no matches" : position >= 0 ? `${position + 1} of ${matches.length}` : `${matches.length} match${matches.length === 1 ? "" : "es"}`}
            </span>
          )}
          {find && hits && historyMatches.length > 0 && (
            <label className="muted history-toggle" title="Records where the text is only in the prompt history they resend">
              <input type="checkbox" checked={withHistory} onChange={(e) => setWithHistory(e.target.checked)} /> +{historyMatches.length} in prompt
              history
            </label>
          )}
          <button type="button" onClick={() => step(matches, 1)} disabled={!matches.length}>
            Next (n)
          </button>
        </form>
        <button onClick={() => step(errorIds, 1)} disabled={!errorIds.length} title="Next error (e)">
          Next error (e) {errorIds.length ? `· ${errorIds.length}` : ""}
        </button>
      </div>
      <EvalBar traceId={trace.trace_id} recordId={selected} />
      {trace.error && <div className="trace-error error-text">{trace.error}</div>}
      {(trace.input || trace.output) && (
        <div className="io-row">
          <TraceValue traceId={trace.trace_id} field="input" title="Input" preview={trace.input} />
          <TraceValue traceId={trace.trace_id} field="output" title="Final output" preview={trace.output} />
        </div>
      )}
      <div className="waterfall-box">
        <div className="wf-tools">
          <button type="button" onClick={zoomToSelected} disabled={!selectedRecord} title="Zoom to the selected record (z)">
            Zoom to record (z)
          </button>
          {zoom && (
            <span className="muted" data-testid="zoom-window">
              {fmtDuration((zoom[1] - zoom[0]) / 1e6)} from {tickLabel(zoom[0], Math.max((zoom[1] - zoom[0]) / 10, 1))}
            </span>
          )}
          <button type="button" onClick={() => setCollapsed(new Set(allRows.filter((r) => r.children > 0).map((r) => r.record.run_id)))}>
            Collapse all
          </button>
          <button type="button" onClick={() => setCollapsed(new Set())} disabled={!collapsed.size}>
            Expand all
          </button>
        </div>
        <Waterfall
          rows={rows}
          traceStart={trace.start_us}
          traceEnd={end}
          selected={selected}
          highlighted={matchSet}
          onSelect={select}
          zoom={zoom}
          onZoom={setZoom}
          collapsed={collapsed}
          onToggle={toggle}
        />
      </div>
      <div className="panes">
        <div className="pane tree" ref={treeBox} data-testid="tree">
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const { record, depth, children } = rows[item.index];
              const left = ((record.start_us - trace.start_us) / total) * 100;
              const width = Math.max((((record.end_us ?? end) - record.start_us) / total) * 100, 1);
              return (
                <div
                  key={record.run_id}
                  className={`tree-row kind-${record.run_type} ${record.run_id === selected ? "selected" : ""} ${
                    record.success ? "" : "failed"
                  } ${matchSet.has(record.run_id) ? "match" : ""}`}
                  data-run-id={record.run_id}
                  style={{ transform: `translateY(${item.start}px)`, paddingLeft: 4 + depth * 14 }}
                  onClick={() => select(record.run_id)}
                >
                  {children > 0 ? (
                    <button
                      type="button"
                      className="twisty"
                      aria-label={collapsed.has(record.run_id) ? "expand" : "collapse"}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(record.run_id);
                      }}
                    >
                      {collapsed.has(record.run_id) ? "▸" : "▾"}
                    </button>
                  ) : (
                    <span className="twisty" />
                  )}
                  <span className={`kind ${record.run_type}`}>{record.run_type}</span>
                  <span className="tree-name">
                    {record.tool_name || record.name}
                    {record.model && <span className="muted tree-model"> {record.model}</span>}
                    {collapsed.has(record.run_id) && <span className="muted"> +{children}</span>}
                  </span>
                  {record.tokens_used ? <span className="muted tree-tokens">{record.tokens_used.toLocaleString()} tok</span> : null}
                  <span className="tree-bar" aria-hidden="true">
                    <span className={`kind-${record.run_type}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
                  </span>
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
            <RecordDetail
              traceId={traceId}
              record={selectedRecord}
              places={hits?.find((h) => h.run_id === selectedRecord.run_id)?.places ?? []}
            />
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
        <dd className="mono">
          {trace.trace_id} <CopyButton value={trace.trace_id} what="trace id" />
        </dd>
        <dt>name</dt>
        <dd>{trace.name || "–"}</dd>
        <dt>agent</dt>
        <dd>{trace.agent_name || "–"}</dd>
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
