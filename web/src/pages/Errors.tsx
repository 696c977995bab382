// Failures grouped by type and message, each with example traces.
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
  example_trace_ids: string[];
  first_seen_us: number;
  last_seen_us: number;
}

export default function ErrorsPage() {
  const [params, setParams] = useSearchParams();
  const agent = params.get("agent") ?? "";
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getJson<{ groups: Group[] }>(`/api/errors${query({ agent: agent || undefined })}`)
      .then((r) => setGroups(r.groups))
      .catch((e) => setError(String(e.message ?? e)));
  }, [agent]);
  return (
    <div className="page errors-page">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const value = String(new FormData(e.currentTarget).get("agent") ?? "").trim();
          setParams(value ? { agent: value } : {});
        }}
      >
        <input name="agent" defaultValue={agent} placeholder="agent" aria-label="agent" />
        <button type="submit">Filter</button>
      </form>
      {error && <p className="error-text">{error}</p>}
      {groups && groups.length === 0 && <p className="empty">No errors. </p>}
      <div className="error-groups" data-testid="error-groups">
        {groups?.map((g) => (
          <div className="error-group" key={`${g.error_type}:${g.message}`}>
            <div className="eg-head">
              <b className="error-text">{g.error_type}</b>
              <span className="eg-count">
                {g.count}× in {g.trace_count} trace{g.trace_count === 1 ? "" : "s"}
              </span>
              <span className="muted">
                {g.kinds.join(", ")} · {g.names.join(", ")} · last {fmtTime(g.last_seen_us)}
              </span>
            </div>
            <pre className="text">{g.message}</pre>
            <div className="examples">
              Examples:{" "}
              {g.example_trace_ids.map((id) => (
                <Link key={id} to={`/traces/${id}?find=${encodeURIComponent(g.error_type)}`} className="mono">
                  {id.slice(0, 12)}
                </Link>
              ))}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
