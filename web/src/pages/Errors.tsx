// Failures grouped by type and fingerprint (the message with numbers, quoted values, ids
// and paths masked), each failure counted once, with the raw messages one click away.
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { getJson, query } from "../api";
import { fmtTime } from "../format";

interface Group {
  error_type: string;
  message: string;
  count: number;
  trace_count: number;
  kinds: string[];
  names: string[];
  agents: string[];
  variants: { message: string; count: number }[];
  example_trace_ids: string[];
  first_seen_us: number;
  last_seen_us: number;
}

export default function ErrorsPage() {
  const [params, setParams] = useSearchParams();
  const agent = params.get("agent") ?? "";
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [agents, setAgents] = useState<{ value: string; count: number }[]>([]);
  useEffect(() => {
    getJson<{ values: { value: string; count: number }[] }>("/api/facets/agent?limit=500")
      .then((r) => setAgents(r.values))
      .catch(() => undefined);
  }, []);
  useEffect(() => {
    getJson<{ groups: Group[] }>(`/api/errors${query({ agent: agent || undefined })}`)
      .then((r) => setGroups(r.groups))
      .catch((e) => setError(String(e.message ?? e)));
  }, [agent]);
  return (
    <div className="page errors-page">
      <div className="filters">
        <label>
          Agent{" "}
          <select
            aria-label="agent"
            value={agent}
            onChange={(e) => setParams(e.target.value ? { agent: e.target.value } : {})}
          >
            <option value="">all agents</option>
            {agents.map((a) => (
              <option key={a.value} value={a.value}>
                {a.value} ({a.count.toLocaleString()})
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && <p className="error-text">{error}</p>}
      {groups && groups.length === 0 && <p className="empty">No errors. </p>}
      <div className="error-groups" data-testid="error-groups">
        {groups?.map((g) => (
          <div className="error-group" key={`${g.error_type}:${g.message}`} data-testid="error-group">
            <div className="eg-head">
              <b className="error-text">{g.error_type}</b>
              <span className="eg-count">
                {g.count.toLocaleString()}× in {g.trace_count.toLocaleString()} trace{g.trace_count === 1 ? "" : "s"}
              </span>
              <span className="muted">
                {g.agents.length ? g.agents.join(", ") : "no agent"} · {g.names.join(", ")} · last {fmtTime(g.last_seen_us)}
              </span>
            </div>
            <pre className="text eg-message">{g.message}</pre>
            {g.variants.length > 0 && (
              <details className="variants">
                <summary>
                  {g.variants.length === 1 ? "Raw message" : `Raw messages (${g.variants.length}${g.variants.length >= 5 ? "+" : ""} variants)`}
                </summary>
                <ul>
                  {g.variants.map((v) => (
                    <li key={v.message}>
                      <span className="muted">{v.count}×</span> <span className="mono">{v.message}</span>
                    </li>
                  ))}
                </ul>
              </details>
            )}
            <div className="examples">
              Examples:{" "}
              {g.example_trace_ids.map((id) => (
                <Link key={id} to={`/traces/${id}?find=${encodeURIComponent(g.error_type)}`} className="mono" title={id}>
                  {id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id}
                </Link>
              ))}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
