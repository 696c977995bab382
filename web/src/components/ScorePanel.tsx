// Score a trace (or its selected record): thumbs, a 1-5 rating, a label, plus a comment.
// Keys: + / - thumbs up / down, 1-5 rating, c comment. Shown in the trace view and the
// annotation queue.
import { useCallback, useEffect, useRef, useState } from "react";
import { getJson, query, sendJson } from "../api";
import { fmtScore, type Score, type ScoreConfig, type ScoreValue } from "../evalTypes";
import "../eval.css";

export const SCORE_SHORTCUTS: [string, string][] = [
  ["+ / -", "thumbs up / down on the trace (or the selected record)"],
  ["1 – 5", "rate the trace 1 to 5"],
  ["c", "write a comment (sent with the next score)"],
];

export function ScorePanel({
  traceId,
  recordId = null,
  onScored,
}: {
  traceId: string;
  recordId?: string | null;
  onScored?: (score: Score) => void;
}) {
  const [scores, setScores] = useState<Score[]>([]);
  const [total, setTotal] = useState(0);
  const [configs, setConfigs] = useState<ScoreConfig[]>([]);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [onRecord, setOnRecord] = useState(false);
  const commentBox = useRef<HTMLTextAreaElement>(null);

  const load = useCallback(() => {
    getJson<{ items: Score[]; total: number }>(`/api/traces/${encodeURIComponent(traceId)}/scores${query({ limit: "200" })}`)
      .then((page) => {
        setScores(page.items);
        setTotal(page.total);
      })
      .catch(() => setScores([]));
  }, [traceId]);

  useEffect(load, [load]);
  useEffect(() => {
    getJson<{ configs: ScoreConfig[] }>("/api/scores/names")
      .then((r) => setConfigs(r.configs.filter((c) => c.data_type === "categorical" && c.categories)))
      .catch(() => setConfigs([]));
  }, []);

  const send = useCallback(
    async (name: string, value: ScoreValue) => {
      try {
        const score = await sendJson<Score>("POST", `/api/traces/${encodeURIComponent(traceId)}/scores`, {
          name,
          value,
          comment: comment.trim() || null,
          record_id: onRecord ? recordId : null,
        });
        setError(null);
        setComment("");
        load();
        if (score && onScored) onScored(score);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [traceId, recordId, onRecord, comment, load, onScored],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("input, textarea, select, .cm-editor")) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "+" || e.key === "=") void send("thumbs", true);
      else if (e.key === "-") void send("thumbs", false);
      else if (/^[1-5]$/.test(e.key)) void send("rating", Number(e.key));
      else if (e.key === "c") {
        e.preventDefault();
        commentBox.current?.focus();
      } else return;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [send]);

  return (
    <section className="score-panel" data-testid="score-panel">
      <div className="score-actions">
        <b>Score</b>
        <button title="Thumbs up (+)" aria-label="thumbs up" onClick={() => send("thumbs", true)}>
          ✓ good <kbd>+</kbd>
        </button>
        <button title="Thumbs down (-)" aria-label="thumbs down" onClick={() => send("thumbs", false)}>
          ✗ bad <kbd>-</kbd>
        </button>
        <span className="rating" aria-label="rating">
          {[1, 2, 3, 4, 5].map((n) => (
            <button key={n} title={`Rate ${n} (${n})`} onClick={() => send("rating", n)}>
              {n}
            </button>
          ))}
        </span>
        {configs.map((c) => (
          <select
            key={c.name}
            aria-label={`label ${c.name}`}
            value=""
            onChange={(e) => e.target.value && send(c.name, e.target.value)}
          >
            <option value="">{c.name}…</option>
            {(c.categories ?? []).map((label) => (
              <option key={label} value={label}>
                {label}
              </option>
            ))}
          </select>
        ))}
        {recordId && (
          <label className="muted">
            <input type="checkbox" checked={onRecord} onChange={(e) => setOnRecord(e.target.checked)} /> on the
            selected record
          </label>
        )}
      </div>
      <textarea
        ref={commentBox}
        className="score-comment"
        aria-label="score comment"
        placeholder="Comment (c), sent with the next score"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
      />
      {error && <p className="error-text">{error}</p>}
      <ul className="score-list" data-testid="score-list">
        {scores.map((s) => (
          <li key={s.score_id} className={`score source-${s.source}`}>
            <span className="score-name">{s.name}</span>{" "}
            <b>{s.data_type === "error" ? "error" : fmtScore(s.display)}</b>
            <span className="muted">
              {" "}
              {s.source}
              {s.run_id ? " · record" : ""}
            </span>
            {(s.comment || s.error) && <span className="score-note"> — {s.comment ?? s.error}</span>}
          </li>
        ))}
        {total > scores.length && <li className="muted">… and {total - scores.length} more</li>}
      </ul>
    </section>
  );
}
