// The annotation queue: a saved filter ("failed runs of agent X without a human score"),
// walked one trace at a time. Keys: ] or → next, [ or ← previous, s skip, and the score
// keys (+ / -, 1-5, c). Queues are saved on the server (/api/queues), for everyone.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { getJson, query, sendJson } from "../api";
import { fmtDuration, fmtTime } from "../format";
import type { Page, TraceSummary } from "../types";
import { StatusBadge } from "../components/Status";
import { ScorePanel } from "../components/ScorePanel";
import { AddToDataset } from "../components/AddToDataset";
import { filterQuery } from "./TraceList";
import "../eval.css";

interface SavedQueue {
  name: string;
  filter: string;
}

const MAX_ITEMS = 500;

/** `start=-7d` / `end=-2h` (relative to now: m, h, d, w) as absolute times, so a saved
 * queue such as "failed runs this week" stays current. */
export function resolveRelative(filter: string, now = Date.now()): URLSearchParams {
  const params = new URLSearchParams(filter);
  for (const key of ["start", "end"]) {
    const found = /^-(\d+)([mhdw])$/.exec(params.get(key) ?? "");
    if (!found) continue;
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[found[2] as "m" | "h" | "d" | "w"];
    params.set(key, new Date(now - Number(found[1]) * unit).toISOString());
  }
  return params;
}

export default function AnnotationQueue() {
  const [params, setParams] = useSearchParams();
  const filter = params.get("filter") ?? "";
  const name = params.get("name") ?? "";
  const [saved, setSaved] = useState<SavedQueue[]>([]);
  const loadSaved = useCallback(() => {
    getJson<{ items: SavedQueue[] }>("/api/queues")
      .then((r) => setSaved(r.items))
      .catch(() => setSaved([]));
  }, []);
  useEffect(loadSaved, [loadSaved]);
  const [items, setItems] = useState<TraceSummary[] | null>(null);
  const [pos, setPos] = useState(0);
  const [marks, setMarks] = useState<Record<string, "scored" | "skipped">>({});
  const [error, setError] = useState<string | null>(null);

  // The queue is the filter's traces when it opened (scoring may drop a trace from the
  // filter, e.g. "no human score"; the walk keeps its place).
  useEffect(() => {
    if (!params.has("filter")) return;
    setItems(null);
    setPos(0);
    setMarks({});
    const api = filterQuery(resolveRelative(filter));
    getJson<Page<TraceSummary>>(`/api/traces${query({ ...api, limit: String(MAX_ITEMS) })}`)
      .then((page) => {
        setItems(page.items);
        setError(null);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [filter]); // eslint-disable-line react-hooks/exhaustive-deps

  const current = items?.[pos] ?? null;
  const move = useCallback(
    (step: number) => setPos((p) => Math.max(0, Math.min((items?.length ?? 1) - 1, p + step))),
    [items],
  );
  const mark = useCallback(
    (state: "scored" | "skipped") => {
      if (!current) return;
      setMarks((m) => ({ ...m, [current.trace_id]: m[current.trace_id] === "scored" ? "scored" : state }));
      move(1);
    },
    [current, move],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("input, textarea, select")) return;
      if (e.key === "]" || e.key === "ArrowRight") move(1);
      else if (e.key === "[" || e.key === "ArrowLeft") move(-1);
      else if (e.key === "s") mark("skipped");
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [move, mark]);

  const counts = useMemo(() => {
    const values = Object.values(marks);
    return { scored: values.filter((v) => v === "scored").length, skipped: values.filter((v) => v === "skipped").length };
  }, [marks]);
  const total = items?.length ?? 0;
  const done = counts.scored + counts.skipped;

  const save = async (queueName: string, queueFilter: string) => {
    try {
      await sendJson("PUT", "/api/queues", { name: queueName, filter: queueFilter });
      loadSaved();
    } catch (e) {
      setError(`Not saved: ${(e as Error).message}`);
    }
  };

  return (
    <div className="page queue-page">
      <h2>Annotation queue{name ? `: ${name}` : ""}</h2>
      <form
        className="filters"
        key={filter + name}
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const queueName = String(data.get("name") ?? "").trim() || "queue";
          const queueFilter = String(data.get("filter") ?? "").trim();
          void save(queueName, queueFilter);
          setParams({ name: queueName, filter: queueFilter });
        }}
      >
        <input name="name" aria-label="queue name" placeholder="queue name" defaultValue={name} />
        <input
          name="filter"
          className="search"
          aria-label="queue filter"
          placeholder="status=error&agent=support&start=-7d&score=no human score"
          defaultValue={filter}
        />
        <button type="submit">Save and start</button>
      </form>
      <div className="queue-saved">
        {saved.map((q) => (
          <Link key={q.name} to={`/queue${query({ name: q.name, filter: q.filter })}`}>
            {q.name}
          </Link>
        ))}
      </div>
      {error && <p className="error-text">{error}</p>}
      {items !== null && (
        <>
          <div className="queue-nav" data-testid="queue-progress">
            <b>
              {total ? pos + 1 : 0} / {total}
            </b>
            <span className="muted">
              {counts.scored} scored · {counts.skipped} skipped · {total - done} left
            </span>
            <button onClick={() => move(-1)} disabled={pos === 0} title="Previous ([ or ←)">
              ← Previous
            </button>
            <button onClick={() => mark("skipped")} disabled={!current} title="Skip (s)">
              Skip
            </button>
            <button onClick={() => move(1)} disabled={pos >= total - 1} title="Next (] or →)">
              Next →
            </button>
            {total === MAX_ITEMS && <span className="muted">(first {MAX_ITEMS} of the filter)</span>}
          </div>
          <div className="queue-progress" aria-label="progress">
            <div style={{ width: `${total ? (100 * done) / total : 0}%` }} />
          </div>
        </>
      )}
      {items !== null && !current && <p className="empty">Nothing matches this queue's filter.</p>}
      {current && (
        <div className="queue-card" data-testid="queue-item" data-trace-id={current.trace_id}>
          <div className="queue-nav">
            <StatusBadge status={current.status} errors={current.error_count} />
            <b>{current.agent_name ?? current.name}</b>
            <span className="muted">
              {fmtTime(current.start_us)} · {fmtDuration(current.duration)} · {current.tokens_used} tokens
            </span>
            <Link to={`/traces/${current.trace_id}`}>open trace</Link>
            {marks[current.trace_id] && <span className="badge">{marks[current.trace_id]}</span>}
          </div>
          <h4>Input</h4>
          <pre>{current.input_preview}</pre>
          <h4>{current.error ? "Error" : "Output"}</h4>
          <pre>{current.error ?? current.output_preview}</pre>
          <ScorePanel
            key={current.trace_id}
            traceId={current.trace_id}
            onScored={() => {
              setMarks((m) => ({ ...m, [current.trace_id]: "scored" }));
              move(1);
            }}
          />
          <AddToDataset traceIds={[current.trace_id]} />
        </div>
      )}
    </div>
  );
}
