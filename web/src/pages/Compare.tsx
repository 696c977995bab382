// Two runs side by side: records aligned, what differs in prompts, outputs and
// arguments, and the deltas of tokens, cost and latency.
import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { diffLines, diffWordsWithSpace, type Change } from "diff";
import { getJson, query } from "../api";
import { fmtCost, fmtDelta, fmtDuration } from "../format";
import type { FullRecord, RecordOutline, TraceDetail } from "../types";
import { isLarge } from "../components/Payload";

interface Pair {
  a: string | null;
  b: string | null;
  key: string;
  changed: string[] | null;
  duration_delta: number | null;
}
interface Totals {
  duration: number | null;
  tokens: number;
  cost_usd: number | null;
  records: number;
  errors: number;
}
interface Comparison {
  a: TraceDetail;
  b: TraceDetail;
  pairs: Pair[];
  totals: { a: Totals; b: Totals };
  deltas: Record<keyof Totals, number | null>;
}

const FIELDS = ["system_prompts", "messages", "llm_response", "tool_calls", "input_params", "output", "inputs", "error"];

const IDS = new Set(["id", "tool_call_id", "call_id"]);

/** A value without its generated call ids (they differ between any two runs). */
export function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value && typeof value === "object" && !isLarge(value)) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !IDS.has(k)).map(([k, v]) => [k, withoutIds(v)]));
  }
  return value;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (isLarge(value)) return `${value.preview}\n…[${value.note}]`;
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** JSON with object keys in order, so key order never shows as a difference. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === "object" && !isLarge(value)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Changes from A's value to B's: words of text or of canonical JSON; lines when long. */
function changes(a: unknown, b: unknown): Change[] {
  const ta = asText(sortedKeys(a));
  const tb = asText(sortedKeys(b));
  return ta.length + tb.length > 20000 ? diffLines(ta, tb) : diffWordsWithSpace(ta, tb);
}

/** The two values side by side: A with what B lacks struck out, B with what it adds. */
function SideBySide({ a, b }: { a: unknown; b: unknown }) {
  const parts = useMemo(() => changes(a, b), [a, b]);
  return (
    <div className="side-by-side">
      <pre className="text diff side-a" data-testid="side-a">
        {parts.filter((p) => !p.added).map((p, i) => (
          <span key={i} className={p.removed ? "removed" : ""}>
            {p.value}
          </span>
        ))}
      </pre>
      <pre className="text diff side-b" data-testid="side-b">
        {parts.filter((p) => !p.removed).map((p, i) => (
          <span key={i} className={p.added ? "added" : ""}>
            {p.value}
          </span>
        ))}
      </pre>
    </div>
  );
}

function PairDiff({ comparison, pair }: { comparison: Comparison; pair: Pair }) {
  const [records, setRecords] = useState<[FullRecord | null, FullRecord | null] | null>(null);
  useEffect(() => {
    const get = (traceId: string, runId: string | null) =>
      runId ? getJson<FullRecord>(`/api/traces/${traceId}/records/${runId}`) : Promise.resolve(null);
    Promise.all([get(comparison.a.trace_id, pair.a), get(comparison.b.trace_id, pair.b)]).then((r) => setRecords(r));
  }, [comparison, pair]);
  if (!records) return <p className="muted">Loading…</p>;
  const [ra, rb] = records;
  const fields = FIELDS.filter((f) => (ra && ra[f] !== undefined) || (rb && rb[f] !== undefined));
  const same: string[] = [];
  const shown = fields.filter((f) => {
    const va = withoutIds(ra?.[f]);
    const vb = withoutIds(rb?.[f]);
    if (asText(va) === asText(vb)) {
      if (asText(va)) same.push(f);
      return false;
    }
    return true;
  });
  return (
    <div className="pair-diff" data-testid="pair-diff">
      <div className="side-heads">
        <b>A</b>
        <b>B</b>
      </div>
      {shown.map((f) => (
        <div key={f} className="field-diff" data-field={f}>
          <h4>
            {f} <span className="changed">(differs)</span>
          </h4>
          <SideBySide a={withoutIds(ra?.[f])} b={withoutIds(rb?.[f])} />
        </div>
      ))}
      {same.length > 0 && <p className="muted">Same in both (call ids ignored): {same.join(", ")}</p>}
    </div>
  );
}

function label(r: RecordOutline | undefined): string {
  if (!r) return "—";
  return `${r.run_type} · ${r.tool_name || r.name} · ${fmtDuration(r.duration)}${r.success ? "" : " · failed"}`;
}

export default function ComparePage() {
  const [params, setParams] = useSearchParams();
  const a = params.get("a") ?? "";
  const b = params.get("b") ?? "";
  const openParam = params.get("pair") ?? "";
  const isOpen = (i: number) => openParam === "all" || openParam === String(i);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setComparison(null);
    setError(null);
    if (!a || !b) return;
    getJson<Comparison>(`/api/compare${query({ a, b })}`)
      .then(setComparison)
      .catch((e) => setError(String(e.message ?? e)));
  }, [a, b]);

  const byId = (t: TraceDetail) => new Map(t.records.map((r) => [r.run_id, r]));
  const mapA = useMemo(() => (comparison ? byId(comparison.a) : new Map()), [comparison]);
  const mapB = useMemo(() => (comparison ? byId(comparison.b) : new Map()), [comparison]);

  return (
    <div className="page compare-page">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          setParams({ a: String(data.get("a") ?? "").trim(), b: String(data.get("b") ?? "").trim() });
        }}
      >
        <input name="a" defaultValue={a} placeholder="first trace id" aria-label="first trace id" size={34} />
        <input name="b" defaultValue={b} placeholder="second trace id" aria-label="second trace id" size={34} />
        <button type="submit">Compare</button>
        <span className="muted">Tip: tick two traces in the list (or press x on each) and press “Compare 2 runs”.</span>
      </form>
      {error && <p className="error-text">{error}</p>}
      {comparison && (
        <>
          <table className="totals" data-testid="compare-totals">
            <thead>
              <tr>
                <th></th>
                <th>
                  <Link to={`/traces/${comparison.a.trace_id}`}>A: {comparison.a.name || comparison.a.agent_name}</Link>
                </th>
                <th>
                  <Link to={`/traces/${comparison.b.trace_id}`}>B: {comparison.b.name || comparison.b.agent_name}</Link>
                </th>
                <th>B − A</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td>Latency</td>
                <td>{fmtDuration(comparison.totals.a.duration)}</td>
                <td>{fmtDuration(comparison.totals.b.duration)}</td>
                <td>{fmtDelta(comparison.deltas.duration, fmtDuration)}</td>
              </tr>
              <tr>
                <td>Tokens</td>
                <td>{comparison.totals.a.tokens}</td>
                <td>{comparison.totals.b.tokens}</td>
                <td>{fmtDelta(comparison.deltas.tokens, String)}</td>
              </tr>
              <tr>
                <td>Cost</td>
                <td>{fmtCost(comparison.totals.a.cost_usd)}</td>
                <td>{fmtCost(comparison.totals.b.cost_usd)}</td>
                <td>{fmtDelta(comparison.deltas.cost_usd, fmtCost)}</td>
              </tr>
              <tr>
                <td>Records</td>
                <td>{comparison.totals.a.records}</td>
                <td>{comparison.totals.b.records}</td>
                <td>{fmtDelta(comparison.deltas.records, String)}</td>
              </tr>
              <tr>
                <td>Errors</td>
                <td>{comparison.totals.a.errors}</td>
                <td>{comparison.totals.b.errors}</td>
                <td>{fmtDelta(comparison.deltas.errors, String)}</td>
              </tr>
            </tbody>
          </table>
          <p>
            <button
              type="button"
              onClick={() =>
                setParams((p) => {
                  const next = new URLSearchParams(p);
                  if (openParam === "all") next.delete("pair");
                  else next.set("pair", "all");
                  return next;
                }, { replace: true })
              }
            >
              {openParam === "all" ? "Hide the differences" : "Show every difference"}
            </button>{" "}
            <span className="muted">Steps are aligned by kind, tool and arguments; generated call ids are ignored.</span>
          </p>
          <table className="pairs" data-testid="compare-pairs">
            <thead>
              <tr>
                <th>A</th>
                <th>B</th>
                <th>Differs in</th>
                <th>Δ latency</th>
              </tr>
            </thead>
            <tbody>
              {comparison.pairs.map((pair, i) => (
                <FragmentRow key={i} index={i} open={isOpen(i)} onToggle={() => setParams((p) => {
                  const next = new URLSearchParams(p);
                  if (isOpen(i)) next.delete("pair");
                  else next.set("pair", String(i));
                  return next;
                }, { replace: true })}>
                  <td>{label(pair.a ? mapA.get(pair.a) : undefined)}</td>
                  <td>{label(pair.b ? mapB.get(pair.b) : undefined)}</td>
                  <td className={pair.changed?.length ? "changed" : "muted"}>
                    {pair.changed === null ? (pair.a ? "only in A" : "only in B") : pair.changed.join(", ") || "same"}
                  </td>
                  <td>{fmtDelta(pair.duration_delta, fmtDuration)}</td>
                  {isOpen(i) && (
                    <td className="pair-diff-cell" colSpan={4}>
                      <PairDiff comparison={comparison} pair={pair} />
                    </td>
                  )}
                </FragmentRow>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function FragmentRow({
  children,
  open,
  onToggle,
  index,
}: {
  children: React.ReactNode[];
  open: boolean;
  onToggle: () => void;
  index: number;
}) {
  const cells = children.filter(Boolean);
  return (
    <>
      <tr className={`pair-row ${open ? "open" : ""}`} onClick={onToggle} data-pair={index}>
        {cells.slice(0, 4)}
      </tr>
      {open && <tr className="pair-detail">{cells[4]}</tr>}
    </>
  );
}
