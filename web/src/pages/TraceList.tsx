// The trace list: filter bar, full-text search, live updates, virtualized keyset pages.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  useReactTable,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { getJson, postFile, query } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import { useLiveTraces } from "../live";
import type { Page, TraceSummary } from "../types";
import { StatusBadge } from "../components/Status";

const FILTER_KEYS = [
  "agent",
  "status",
  "model",
  "tool",
  "min_duration",
  "max_duration",
  "min_tokens",
  "max_tokens",
  "min_cost",
  "tag",
  "meta",
  "start",
  "end",
  "q",
  "has_errors",
  "session",
] as const;

const FIELD_LABELS: [string, string, string][] = [
  ["agent", "Agent", "weather_agent"],
  ["model", "Model", "gpt-4o"],
  ["tool", "Tool", "get_weather"],
  ["tag", "Tag", "prod"],
  ["meta", "Metadata", "key=value"],
  ["min_duration", "Min s", "0.5"],
  ["max_duration", "Max s", ""],
  ["min_tokens", "Min tokens", ""],
  ["max_tokens", "Max tokens", ""],
  ["min_cost", "Min $", ""],
];

/** The API query for the filters in the address bar (lists split on commas). */
export function filterQuery(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (!value) continue;
    if (["agent", "status", "model", "tool", "tag", "session"].includes(key)) {
      out[key] = value.split(",").map((v) => v.trim()).filter(Boolean);
    } else if (key === "meta") {
      out[key] = value.split(/\s+/).filter(Boolean);
    } else if (key === "start" || key === "end") {
      out[key] = new Date(value).toISOString();
    } else {
      out[key] = value;
    }
  }
  return out;
}

const column = createColumnHelper<TraceSummary>();

export default function TraceList() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filters = useMemo(() => filterQuery(params), [params]);
  const order = params.get("order") ?? "-start_time";
  const filterSearch = query(filters);
  const [rows, setRows] = useState<TraceSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);
  const [marked, setMarked] = useState<string[]>([]);
  const [reload, setReload] = useState(0);
  const searchBox = useRef<HTMLInputElement>(null);
  const scroller = useRef<HTMLDivElement>(null);

  // First page and count whenever the filter changes.
  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    getJson<Page<TraceSummary>>(`/api/traces${query({ ...filters, order, limit: "100" })}`, abort.signal)
      .then((page) => {
        setRows(page.items);
        setCursor(page.next_cursor);
        setSelected(0);
      })
      .catch((e) => abort.signal.aborted || setError(String(e.message ?? e)))
      .finally(() => setLoading(false));
    setCount(null);
    getJson<{ count: number }>(`/api/traces/count${filterSearch}`, abort.signal)
      .then((c) => setCount(c.count))
      .catch(() => undefined);
    return () => abort.abort();
  }, [filterSearch, order, reload]); // eslint-disable-line react-hooks/exhaustive-deps

  const loadMore = useCallback(() => {
    if (!cursor || loading) return;
    setLoading(true);
    getJson<Page<TraceSummary>>(`/api/traces${query({ ...filters, order, limit: "100", cursor })}`)
      .then((page) => {
        setRows((old) => {
          const seen = new Set(old.map((r) => r.trace_id));
          return [...old, ...page.items.filter((r) => !seen.has(r.trace_id))];
        });
        setCursor(page.next_cursor);
      })
      .catch((e) => setError(String(e.message ?? e)))
      .finally(() => setLoading(false));
  }, [cursor, loading, filters, order]);

  // A new trace changes the total: ask again, at most once a second.
  const recountTimer = useRef<number | null>(null);
  const recount = useCallback(() => {
    if (recountTimer.current !== null) return;
    recountTimer.current = window.setTimeout(() => {
      recountTimer.current = null;
      getJson<{ count: number }>(`/api/traces/count${filterSearch}`)
        .then((c) => setCount(c.count))
        .catch(() => undefined);
    }, 1000);
  }, [filterSearch]);

  // Live: update rows in place; a new trace matching the filter goes on top.
  useLiveTraces(
    filterSearch,
    (summary) => {
      setRows((old) => {
        const at = old.findIndex((r) => r.trace_id === summary.trace_id);
        if (at >= 0) {
          const copy = old.slice();
          copy[at] = summary;
          return copy;
        }
        if (order !== "-start_time") return old;
        if (old.length && summary.start_us < old[old.length - 1].start_us && cursor) return old;
        recount();
        return [summary, ...old].sort((a, b) => b.start_us - a.start_us || (a.trace_id < b.trace_id ? 1 : -1));
      });
    },
    () => setReload((n) => n + 1),
  );

  const toggleMark = useCallback((id: string) => {
    setMarked((m) => (m.includes(id) ? m.filter((x) => x !== id) : [...m.slice(-1), id]));
  }, []);

  const columns = useMemo(
    () => [
      column.display({
        id: "mark",
        header: "",
        cell: (c) => (
          <input
            type="checkbox"
            aria-label="mark for comparison"
            checked={marked.includes(c.row.original.trace_id)}
            onChange={() => toggleMark(c.row.original.trace_id)}
            onClick={(e) => e.stopPropagation()}
          />
        ),
      }),
      column.accessor("status", { header: "Status", cell: (c) => <StatusBadge status={c.getValue()} errors={c.row.original.error_count} /> }),
      column.accessor("name", {
        header: "Trace",
        cell: (c) => (
          <span>
            <b>{c.row.original.agent_name ?? c.getValue()}</b>
            <span className="muted"> {c.row.original.tools.join(", ")}</span>
          </span>
        ),
      }),
      column.accessor("input_preview", { header: "Input", cell: (c) => <span className="preview">{c.getValue()}</span> }),
      column.accessor("output_preview", { header: "Output", cell: (c) => <span className="preview">{c.row.original.error ?? c.getValue()}</span> }),
      column.accessor("start_us", { header: "Started", cell: (c) => fmtTime(c.getValue()) }),
      column.accessor("duration", { header: "Duration", cell: (c) => fmtDuration(c.getValue()) }),
      column.accessor("run_count", {
        header: "Records",
        cell: (c) => `${c.row.original.think_count} LLM · ${c.row.original.tool_count} tool`,
      }),
      column.accessor("tokens_used", { header: "Tokens" }),
      column.accessor("cost_usd", { header: "Cost", cell: (c) => fmtCost(c.getValue()) }),
    ],
    [marked, toggleMark],
  );

  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel(), getRowId: (r) => r.trace_id });
  const tableRows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 36,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();

  useEffect(() => {
    const last = items[items.length - 1];
    if (last && last.index >= tableRows.length - 20) loadMore();
  }, [items, tableRows.length, loadMore]);

  // Keyboard: j/k move, Enter opens, / searches, x marks.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("input, textarea, select")) return;
      if (e.key === "j") setSelected((s) => Math.min(s + 1, rows.length - 1));
      else if (e.key === "k") setSelected((s) => Math.max(s - 1, 0));
      else if (e.key === "Enter" && rows[selected]) navigate(`/traces/${rows[selected].trace_id}`);
      else if (e.key === "x" && rows[selected]) toggleMark(rows[selected].trace_id);
      else if (e.key === "/") {
        e.preventDefault();
        searchBox.current?.focus();
      } else return;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, selected, navigate, toggleMark]);

  useEffect(() => {
    if (rows.length) virtualizer.scrollToIndex(selected, { align: "auto" });
  }, [selected]); // eslint-disable-line react-hooks/exhaustive-deps

  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <div className="page list-page">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const [k, v] of data.entries()) if (typeof v === "string" && v.trim()) next.set(k, v.trim());
          if (params.get("order")) next.set("order", params.get("order")!);
          setParams(next);
        }}
        key={params.toString()}
      >
        <input
          ref={searchBox}
          name="q"
          className="search"
          placeholder="Search inputs, outputs, errors  ( / )"
          defaultValue={params.get("q") ?? ""}
          aria-label="search"
        />
        <select name="status" defaultValue={params.get("status") ?? ""} aria-label="status">
          <option value="">any status</option>
          <option value="running">running</option>
          <option value="success">success</option>
          <option value="error">error</option>
          <option value="cancelled">cancelled</option>
        </select>
        <select name="has_errors" defaultValue={params.get("has_errors") ?? ""} aria-label="errors">
          <option value="">errors or not</option>
          <option value="true">with errors</option>
          <option value="false">without errors</option>
        </select>
        {FIELD_LABELS.map(([key, label, placeholder]) => (
          <label key={key} className="field">
            <span>{label}</span>
            <input name={key} aria-label={label} placeholder={placeholder} defaultValue={params.get(key) ?? ""} />
          </label>
        ))}
        <label className="field">
          <span>From</span>
          <input type="datetime-local" name="start" aria-label="from" defaultValue={params.get("start") ?? ""} />
        </label>
        <label className="field">
          <span>To</span>
          <input type="datetime-local" name="end" aria-label="to" defaultValue={params.get("end") ?? ""} />
        </label>
        <button type="submit">Apply</button>
        <button type="button" className="link" onClick={() => setParams(new URLSearchParams())}>
          Clear
        </button>
      </form>
      <div className="list-bar">
        <span className="count" data-testid="trace-count">
          {count === null ? "…" : `${count.toLocaleString()} traces`}
        </span>
        <label>
          Sort{" "}
          <select value={order} onChange={(e) => setParam("order", e.target.value === "-start_time" ? "" : e.target.value)} aria-label="sort">
            <option value="-start_time">newest</option>
            <option value="start_time">oldest</option>
            <option value="-duration">slowest</option>
            <option value="-tokens">most tokens</option>
            <option value="-cost">most expensive</option>
          </select>
        </label>
        <span className="live-dot" title="Live: new and running traces appear as they happen">● live</span>
        {marked.length === 2 && (
          <button onClick={() => navigate(`/compare?a=${marked[0]}&b=${marked[1]}`)}>Compare 2 runs</button>
        )}
        <a className="export" href={`/api/export${query({ ...filters, format: "jsonl" })}`}>
          Export JSONL
        </a>
        <a className="export" href={`/api/export${query({ ...filters, format: "csv" })}`}>
          CSV
        </a>
        <label className="export import">
          Import
          <input
            type="file"
            accept=".json,.jsonl,application/json"
            aria-label="import traces"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              try {
                const result = await postFile<{ imported: number; skipped: string[] }>(
                  "/api/import",
                  file,
                );
                setError(null);
                const skipped = result.skipped.length;
                setNotice(
                  `Imported ${result.imported} traces` +
                    (skipped ? `; ${skipped} already stored, not replaced` : ""),
                );
                setReload((n) => n + 1);
              } catch (err) {
                setError(`Import failed: ${(err as Error).message}`);
              }
              e.target.value = "";
            }}
          />
        </label>
        {notice && <span className="muted">{notice}</span>}
        {error && <span className="error-text">{error}</span>}
      </div>
      <div className="table-scroll" ref={scroller}>
        <table className="traces">
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((h) => (
                  <th key={h.id} className={`col-${h.column.id}`}>
                    {flexRender(h.column.columnDef.header, h.getContext())}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = tableRows[item.index];
              return (
                <tr
                  key={row.id}
                  data-trace-id={row.id}
                  className={`${item.index === selected ? "selected" : ""} ${row.original.status}`}
                  style={{ position: "absolute", transform: `translateY(${item.start}px)`, height: item.size }}
                  onClick={() => navigate(`/traces/${row.id}`)}
                  onMouseEnter={() => setSelected(item.index)}
                >
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} className={`col-${cell.column.id}`}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {!loading && rows.length === 0 && <p className="empty">No traces match.</p>}
      </div>
    </div>
  );
}
