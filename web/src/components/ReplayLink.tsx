// Links a replay (metadata.replay_of) to its original and the compare view of the pair,
// and a playground run (metadata.playground_of) to the record it came from.
import { Link } from "react-router";

export function ReplayLink({ traceId, metadata }: { traceId: string; metadata: Record<string, unknown> }) {
  const original = typeof metadata.replay_of === "string" ? metadata.replay_of : null;
  const source = metadata.playground_of as { trace_id?: string; run_id?: string } | undefined;
  if (original) {
    return (
      <span className="stat" data-testid="replay-link">
        replay of <Link to={`/traces/${original}`}>{original.slice(0, 8)}</Link> ·{" "}
        <Link to={`/compare?a=${original}&b=${traceId}`}>compare</Link>
      </span>
    );
  }
  if (source?.trace_id) {
    return (
      <Link className="stat" to={`/traces/${source.trace_id}${source.run_id ? `?r=${source.run_id}` : ""}`}>
        playground run of {source.trace_id.slice(0, 8)}
      </Link>
    );
  }
  return null;
}
