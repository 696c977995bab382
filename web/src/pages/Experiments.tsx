// Experiments: each one's figures (every score's mean, pass rate, p50/p95 latency, tokens,
// cost); pick two to compare item by item: deltas, regressions first, each cell opening
// the two runs in the compare view.
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { getJson, query } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import type { Comparison, CompareRow, Experiment, ExperimentSummary } from "../evalTypes";
import "../eval.css";

function pct(value: number | null): string {
  return value === null ? "–" : `${(value * 100).toFixed(1)}%`;
}

function num(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function Delta({ value }: { value: number | null | undefined }) {
  if (value === null || value === undefined) return <span className="muted">–</span>;
  if (value === 0) return <span className="muted">0</span>;
  return <span className={value > 0 ? "delta-up" : "delta-down"}>{value > 0 ? `+${num(value)}` : num(value)}</span>;
}

function scoreNames(summaries: ExperimentSummary[]): string[] {
  return [...new Set(summaries.flatMap((s) => Object.keys(s.scores)))].sort();
}

function ExperimentList() {
  const [items, setItems] = useState<Experiment[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    getJson<{ items: Experiment[] }>("/api/experiments")
      .then((r) => setItems(r.items))
      .catch((e) => setError(String(e.message ?? e)));
  }, []);
  const names = useMemo(() => scoreNames((items ?? []).map((e) => e.summary)), [items]);

  return (
    <div className="page">
      <h2>Experiments</h2>
      <p className="muted">
        Run one with <code>myagent eval DATASET --agent module:create_agent</code> or{" "}
        <code>await run_experiment(...)</code>. Pick two to compare them item by item.
      </p>
      {error && <p className="error-text">{error}</p>}
      {picked.length === 2 && (
        <button onClick={() => navigate(`/experiments/compare${query({ base: picked[0], other: picked[1] })}`)}>
          Compare the 2 picked
        </button>
      )}
      <table className="eval-table" data-testid="experiments">
        <thead>
          <tr>
            <th />
            <th>Experiment</th>
            <th>Dataset</th>
            <th>Started</th>
            <th>Status</th>
            <th>Items</th>
            <th>Pass rate</th>
            {names.map((n) => (
              <th key={n}>{n}</th>
            ))}
            <th>p50</th>
            <th>p95</th>
            <th>Tokens</th>
            <th>Cost</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((e) => (
            <tr key={e.experiment_id} data-experiment-id={e.experiment_id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`pick ${e.name}`}
                  checked={picked.includes(e.experiment_id)}
                  onChange={() =>
                    setPicked((p) =>
                      p.includes(e.experiment_id) ? p.filter((x) => x !== e.experiment_id) : [...p.slice(-1), e.experiment_id],
                    )
                  }
                />
              </td>
              <td>
                <b>{e.name}</b> <span className="muted">{e.experiment_id}</span>
              </td>
              <td>{e.dataset}</td>
              <td>{fmtTime(e.created_us)}</td>
              <td>{e.status}</td>
              <td>
                {e.summary.finished}/{e.summary.items}
              </td>
              <td>{pct(e.summary.pass_rate)}</td>
              {names.map((n) => (
                <td key={n}>
                  {num(e.summary.scores[n]?.mean)}
                  {e.summary.scores[n]?.errors ? <span className="error-text"> ({e.summary.scores[n].errors} err)</span> : null}
                </td>
              ))}
              <td>{fmtDuration(e.summary.latency_p50)}</td>
              <td>{fmtDuration(e.summary.latency_p95)}</td>
              <td>{e.summary.tokens}</td>
              <td>{fmtCost(e.summary.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {items !== null && items.length === 0 && <p className="empty">No experiments yet.</p>}
    </div>
  );
}

function ExperimentCompare({ base, other }: { base: string; other: string }) {
  const [data, setData] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    getJson<Comparison>(`/api/experiments/compare${query({ base, other })}`)
      .then(setData)
      .catch((e) => setError(String(e.message ?? e)));
  }, [base, other]);
  if (error) return <p className="error-text page">{error}</p>;
  if (!data) return <p className="page muted">Loading…</p>;
  const names = scoreNames([data.base.summary, data.other.summary]);
  const open = (row: CompareRow) => {
    if (row.base && row.other) navigate(`/compare${query({ a: row.base.trace_id, b: row.other.trace_id })}`);
  };
  const regressions = data.items.filter((r) => r.regression).length;
  const summaries: [string, ExperimentSummary][] = [
    [base, data.base.summary],
    [other, data.other.summary],
  ];

  return (
    <div className="page">
      <Link to="/experiments">← Experiments</Link>
      <h2>
        {base} → {other}
      </h2>
      <table className="eval-table" data-testid="experiment-summaries">
        <thead>
          <tr>
            <th>Experiment</th>
            <th>Pass rate</th>
            {names.map((n) => (
              <th key={n}>{n}</th>
            ))}
            <th>p50</th>
            <th>p95</th>
            <th>Tokens</th>
            <th>Cost</th>
          </tr>
        </thead>
        <tbody>
          {summaries.map(([id, s]) => (
            <tr key={id}>
              <td>{id}</td>
              <td>{pct(s.pass_rate)}</td>
              {names.map((n) => (
                <td key={n}>{num(s.scores[n]?.mean)}</td>
              ))}
              <td>{fmtDuration(s.latency_p50)}</td>
              <td>{fmtDuration(s.latency_p95)}</td>
              <td>{s.tokens}</td>
              <td>{fmtCost(s.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>
        Items <span className="muted">· {regressions} regressions first · click a row to compare the two runs</span>
      </h3>
      <table className="eval-table" data-testid="experiment-items">
        <thead>
          <tr>
            <th>Item</th>
            <th>Base output</th>
            <th>Other output</th>
            {names.map((n) => (
              <th key={n}>{n} (base → other, Δ)</th>
            ))}
            <th>Latency Δ</th>
            <th>Passed</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((row) => (
            <tr key={row.item_id} className={row.regression ? "regression" : ""} data-item-id={row.item_id}>
              <td className="clickable preview" onClick={() => open(row)} title={row.item_id}>
                {row.base?.input_preview ?? row.other?.input_preview ?? row.item_id}
              </td>
              <td className="clickable preview" onClick={() => open(row)}>
                {row.base?.output_preview ?? "–"}
              </td>
              <td className="clickable preview" onClick={() => open(row)}>
                {row.other?.output_preview ?? "–"}
              </td>
              {names.map((n) => (
                <td key={n} className="clickable" onClick={() => open(row)}>
                  {num(row.base?.scores[n])} → {num(row.other?.scores[n])} <Delta value={row.deltas[n]} />
                </td>
              ))}
              <td className="clickable" onClick={() => open(row)}>
                {row.latency_delta === null ? (
                  "–"
                ) : Math.abs(row.latency_delta) < 0.000001 ? (
                  <span className="muted">0</span>
                ) : (
                  <span className={row.latency_delta > 0 ? "delta-down" : "delta-up"}>
                    {row.latency_delta > 0 ? "+" : "−"}
                    {fmtDuration(Math.abs(row.latency_delta))}
                  </span>
                )}
              </td>
              <td>
                {row.base?.passed ? "✓" : "✗"} → {row.other?.passed ? "✓" : "✗"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function ExperimentsPage() {
  const [params] = useSearchParams();
  const base = params.get("base");
  const other = params.get("other");
  return base && other ? <ExperimentCompare base={base} other={other} /> : <ExperimentList />;
}
