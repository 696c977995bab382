// A trace's name as lists show it: the name, the agent beside it when it differs, the tools.
import type { TraceSummary } from "../types";

/** The trace's name; the agent beside it when it differs; the tools it used. */
export function TraceName({ trace }: { trace: TraceSummary }) {
  const name = trace.name || trace.agent_name || trace.trace_id;
  return (
    <span className="trace-name" title={name}>
      <b>{name}</b>
      {trace.agent_name && trace.agent_name !== name && <span className="agent-tag">{trace.agent_name}</span>}
      <span className="muted"> {trace.tools.join(", ")}</span>
    </span>
  );
}
