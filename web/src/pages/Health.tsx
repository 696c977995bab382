// Tracing health: what every writer process submitted, wrote and dropped, by reason.
import { useEffect, useState } from "react";
import { createColumnHelper } from "@tanstack/react-table";
import { getJson } from "../api";
import { fmtTime } from "../format";
import type { WriterHealth, WritersReport } from "../types";
import { DataTable } from "../components/DataTable";
import { dropReasons } from "../components/HealthBadge";

const col = createColumnHelper<WriterHealth>();

const REASONS: [string, string][] = [
  ["buffer_full", "the queue was full: storage slower than the program, or stuck"],
  ["write_failed", "a batch failed every retry: storage failing"],
  ["transform_failed", "redaction raised: dropped rather than stored unredacted"],
  ["convert_failed", "the trace's data could not be turned into rows: it alone was dropped, not its batch"],
  ["stuck", "converting or redacting one of its values hung (past stuck_timeout): given up, the rest written"],
  ["shutdown", "not written when close or exit reached its deadline (storage hung or too slow)"],
];

export default function HealthPage() {
  const [report, setReport] = useState<WritersReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getJson<WritersReport>("/api/writers")
      .then(setReport)
      .catch((e) => setError(String(e.message ?? e)));
  }, []);
  if (error) return <p className="page error-text">{error}</p>;
  if (!report) return <p className="page muted">Loading…</p>;
  const t = report.totals;
  return (
    <div className="page" data-testid="health-page">
      <h2>Tracing health</h2>
      <div className="cards">
        <div className="card">
          <b>{t.written}</b>
          <span>written</span>
        </div>
        <div className={`card ${t.dropped_total ? "card-warn" : ""}`} data-testid="dropped-total">
          <b>{t.dropped_total}</b>
          <span>dropped</span>
        </div>
        {REASONS.map(([reason, why]) => (
          <div className="card" key={reason} title={why} data-testid={`dropped-${reason}`}>
            <b>{t.dropped[reason] ?? 0}</b>
            <span>{reason}</span>
          </div>
        ))}
        <div className="card">
          <b>{t.write_errors}</b>
          <span>write errors</span>
        </div>
        <div className="card">
          <b>{t.writers}</b>
          <span>writers</span>
        </div>
      </div>
      <p className="muted">
        Each process that traces into this storage saves its writer's counters here (after its batches, on flush and
        at exit). Produced = written + dropped.
      </p>
      {report.writers.length === 0 ? (
        <p className="empty">No writer has saved counters in this storage yet.</p>
      ) : (
        <DataTable
          testId="writers"
          data={report.writers}
          columns={[
            col.accessor("host", { header: "Host" }),
            col.accessor("pid", { header: "PID" }),
            col.accessor("started_us", { header: "Started", cell: (c) => fmtTime(c.getValue()) }),
            col.accessor("updated_us", { header: "Updated", cell: (c) => fmtTime(c.getValue()) }),
            col.accessor((w) => (w.live ? "live" : w.closed ? "closed" : "running"), {
              id: "state",
              header: "State",
            }),
            col.accessor("submitted", { header: "Submitted" }),
            col.accessor("written", { header: "Written" }),
            col.accessor("dropped_total", {
              header: "Dropped",
              cell: (c) => (
                <span className={c.getValue() ? "error-text" : ""} title={dropReasons(c.row.original.dropped)}>
                  {c.getValue()}
                  {c.getValue() ? ` (${dropReasons(c.row.original.dropped)})` : ""}
                </span>
              ),
            }),
            col.accessor("write_errors", { header: "Write errors" }),
            col.accessor("buffer_depth", { header: "Queued" }),
            col.accessor("last_error", {
              header: "Last error",
              cell: (c) => <span className="mono">{c.getValue() ?? "–"}</span>,
            }),
          ]}
        />
      )}
    </div>
  );
}
