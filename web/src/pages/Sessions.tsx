// Sessions by latest activity, and one session's traces in order.
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { createColumnHelper } from "@tanstack/react-table";
import { getJson } from "../api";
import { NotFound } from "../components/NotFound";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import type { TraceSummary } from "../types";
import { DataTable } from "../components/DataTable";
import { StatusBadge } from "../components/Status";
import { TraceName } from "../components/TraceName";

interface Session {
  session_id: string;
  trace_count: number;
  first_us: number;
  last_us: number;
  error_traces: number;
  tokens_used: number;
  cost_usd: number;
}

const col = createColumnHelper<Session>();

export default function SessionsPage() {
  const { sessionId } = useParams();
  const navigate = useNavigate();
  const [sessions, setSessions] = useState<Session[]>([]);
  const [traces, setTraces] = useState<TraceSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    setLoaded(false);
    if (sessionId) {
      getJson<{ items: TraceSummary[] }>(`/api/sessions/${encodeURIComponent(sessionId)}`)
        .then((r) => {
          setTraces(r.items);
          setLoaded(true);
        })
        .catch((e) => setError(String(e.message ?? e)));
    } else {
      getJson<{ sessions: Session[] }>("/api/sessions")
        .then((r) => setSessions(r.sessions))
        .catch((e) => setError(String(e.message ?? e)));
    }
  }, [sessionId]);
  if (error) return <p className="page error-text">{error}</p>;
  if (sessionId && loaded && traces.length === 0) return <NotFound what="session" id={sessionId} />;
  if (!sessionId) {
    return (
      <div className="page">
        <h2>Sessions</h2>
        <DataTable
          testId="sessions"
          data={sessions}
          onRowClick={(s) => navigate(`/sessions/${encodeURIComponent(s.session_id)}`)}
          columns={[
            col.accessor("session_id", { header: "Session" }),
            col.accessor("trace_count", { header: "Traces" }),
            col.accessor("first_us", { header: "First", cell: (c) => fmtTime(c.getValue()) }),
            col.accessor("last_us", { header: "Latest", cell: (c) => fmtTime(c.getValue()) }),
            col.accessor("error_traces", { header: "With errors" }),
            col.accessor("tokens_used", { header: "Tokens", cell: (c) => c.getValue().toLocaleString() }),
            col.accessor("cost_usd", { header: "Cost", cell: (c) => fmtCost(c.getValue() || null) }),
          ]}
        />
      </div>
    );
  }
  return (
    <div className="page">
      <p>
        <Link to="/sessions">← Sessions</Link>
      </p>
      <h2>Session {sessionId}</h2>
      <ol className="session-traces" data-testid="session-traces">
        {traces.map((t) => (
          <li key={t.trace_id}>
            <Link to={`/traces/${t.trace_id}`}>
              <StatusBadge status={t.status} errors={t.error_count} /> <TraceName trace={t} />{" "}
              <span className="muted">{fmtTime(t.start_us)} · {fmtDuration(t.duration)}</span>
              <div className="preview">{t.input_preview}</div>
              <div className="preview muted">{t.output_preview ?? t.error}</div>
            </Link>
          </li>
        ))}
      </ol>
    </div>
  );
}
