// The trace list: filter bar, full-text search, live updates, virtualized keyset pages.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  useReactTable,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ApiError, getJson, postFile, query } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import { useLiveTraces } from "../live";
import type { Page, TraceSummary } from "../types";
import { StatusBadge } from "../components/Status";
import { AddToDataset } from "../components/AddToDataset";
import { useScoreColumns } from "../components/ScoreColumns";
import { TraceName } from "../components/TraceName";
import { FilterBar, LIST_FIELDS, rangeStart, splitList } from "../components/FilterBar";

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
  "score",
] as const;

/** The API query for the filters in the address bar (lists split on commas; a quick
 * range such as `range=1h` becomes a start time). */
export function filterQuery(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (!value) continue;
    if ((LIST_FIELDS as readonly string[]).includes(key)) {
      out[key] = splitList(value);
    } else if (key === "score") {
      out[key] = value.split(";").map((v) => v.trim()).filter(Boolean);
    } else if (key === "meta") {
      out[key] = value.split(/\s+/).filter(Boolean);
    } else if (key === "start" || key === "end") {
      const time = new Date(value);
      out[key] = Number.isNaN(time.getTime()) ? value : time.toISOString();
    } else {
      out[key] = value;
    }
  }
  const start = rangeStart(params.get("range"));
  if (start) out.start = start;
  return out;
}

/** The list's first page and count for the address's filters (what the page asks first). */
export function firstRequests(params: URLSearchParams, limit = "100"): [string, string] {
  const filters = filterQuery(params);
  const order = params.get("order") ?? "-start_time";
  return [`/api/traces${query({ ...filters, order, limit })}`, `/api/traces/count${query(filters)}`];
}

/** What Back restores: the rows loaded, scroll position, selected row (per history entry). */
interface Place {
  rows: number;
  scroll: number;
  selected: number;
}
const MARKED_KEY = "myagent.compare";

function savedPlace(key: string): Place | null {
  try {
    return JSON.parse(sessionStorage.getItem(`myagent.list.${key}`) ?? "null") as Place | null;
  } catch {
    return null;
  }
}

const column = createColumnHelper<TraceSummary>();

export default function TraceList() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  // A quick range's start is taken when the filter changes, not on every render.
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
  const [marked, setMarked] = useState<string[]>(() => {
    try {
      return JSON.parse(sessionStorage.getItem(MARKED_KEY) ?? "[]") as string[];
    } catch {
      return [];
    }
  });
  const restore = useRef<Place | null>(savedPlace(location.key));
  const [reload, setReload] = useState(0);
  const searchBox = useRef<HTMLInputElement>(null);
  const scroller = useRef<HTMLDivElement>(null);

  // First page and count whenever the filter changes.
  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    const place = restore.current;
    const limit = String(Math.min(500, Math.max(100, place?.rows ?? 0)));
    const [first, counted] = firstRequests(params, limit);
    getJson<Page<TraceSummary>>(first, abort.signal)
      .then((page) => {
        setRows(page.items);
        setCursor(page.next_cursor);
        setSelected(place ? Math.min(place.selected, Math.max(0, page.items.length - 1)) : 0);
        if (place) {
          restore.current = null;
          requestAnimationFrame(() => {
            if (scroller.current) scroller.current.scrollTop = place.scroll;
          });
        }
      })
      .catch((e) => {
        if (abort.signal.aborted) return;
        setRows([]);
        setError(e instanceof ApiError && e.status === 422 ? `Filter not applied: ${e.message}` : String(e.message ?? e));
      })
      .finally(() => setLoading(false));
    setCount(null);
    getJson<{ count: number }>(counted, abort.signal)
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
  useEffect(() => sessionStorage.setItem(MARKED_KEY, JSON.stringify(marked)), [marked]);

  // Remember where we are in this history entry, so Back comes back to it.
  const placeKey = location.key;
  const remember = useCallback(() => {
    const place: Place = { rows: rows.length, scroll: scroller.current?.scrollTop ?? 0, selected };
    sessionStorage.setItem(`myagent.list.${placeKey}`, JSON.stringify(place));
  }, [rows.length, selected, placeKey]);
  const open = useCallback(
    (traceId: string) => {
      remember();
      navigate(`/traces/${traceId}`);
    },
    [remember, navigate],
  );

  const scoreColumns = useScoreColumns(rows);
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
        cell: (c) => <TraceName trace={c.row.original} />,
      }),
      column.accessor("input_preview", { header: "Input", cell: (c) => <span className="preview">{c.getValue()}</span> }),
      column.accessor("output_preview", { header: "Output", cell: (c) => <span className="preview">{c.row.original.error ?? c.getValue()}</span> }),
      column.accessor("start_us", { header: "Started", cell: (c) => fmtTime(c.getValue()) }),
      column.accessor("duration", { header: "Duration", cell: (c) => fmtDuration(c.getValue()) }),
      column.accessor("run_count", {
        header: "Records",
        cell: (c) => `${c.row.original.think_count} LLM · ${c.row.original.tool_count} tool`,
      }),
      column.accessor("tokens_used", { header: "Tokens", cell: (c) => c.getValue().toLocaleString() }),
      column.accessor("cost_usd", { header: "Cost", cell: (c) => fmtCost(c.getValue()) }),
      ...scoreColumns.columns,
    ],
    [marked, toggleMark, scoreColumns.columns],
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
      else if (e.key === "Enter" && rows[selected]) open(rows[selected].trace_id);
      else if (e.key === "x" && rows[selected]) toggleMark(rows[selected].trace_id);
      else if (e.key === "/") {
        e.preventDefault();
        searchBox.current?.focus();
      } else return;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, selected, open, toggleMark]);

  useEffect(() => {
    if (rows.length) virtualizer.scrollToIndex(selected, { align: "auto" });
  }, [selected]); // eslint-disable-line react-hooks/exhaustive-deps

  const setParam = (key: string, value: string) => update({ [key]: value || null }, true);
  /** Apply changed filters at once; each change is a history entry (Back undoes it). */
  function update(changes: Record<string, string | null>, replace = false) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace });
  }

  return (
    <div className="page list-page">
      <FilterBar params={params} update={update} searchBox={searchBox} />
      <div className="list-bar">
        <span className="count" data-testid="trace-count">
          {count === null ? "…" : `${count.toLocaleString()} trace${count === 1 ? "" : "s"}`}
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
          <button
            onClick={() => {
              remember();
              navigate(`/compare?a=${marked[0]}&b=${marked[1]}`);
            }}
          >
            Compare 2 runs
          </button>
        )}
        <AddToDataset traceIds={marked} label="Add marked to dataset" />
        <Link to={`/queue${query({ filter: params.toString() })}`}>Annotate these</Link>
        {scoreColumns.picker}
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
        {error && <span className="error-text" role="alert">{error}</span>}
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
                  onClick={() => open(row.id)}
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
        {!loading && rows.length === 0 && !error && <EmptyList filtered={Object.keys(filters).length > 0} />}
      </div>
    </div>
  );
}

function EmptyList({ filtered }: { filtered: boolean }) {
  if (filtered) return <p className="empty">No traces match.</p>;
  return (
    <div className="empty setup" data-testid="empty-setup">
      <p>
        <b>No traces yet.</b> Traces appear here live as your agents run.
      </p>
      <p>Run an agent with traces kept in this viewer's database, for example:</p>
      <pre className="text">{`TRACE_STORAGE=sqlite python my_agent.py   # writes traces.db
python trace_server.py --db traces.db     # this viewer`}</pre>
      <p>
        or import a JSON/JSONL export with <b>Import</b> above. See docs/viewer.md.
      </p>
    </div>
  );
}
