// The detail pane: one record's prompts, response, tool parameters and output, tokens,
// cost and errors with stack traces, loaded on demand (large fields as downloads).
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { getJson } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import type { FindPlace, FullRecord, RecordOutline } from "../types";
import { MarkdownOrRaw, Section, Value } from "./Payload";
import { Chat } from "./Chat";
import { CopyButton } from "./Copy";

/** Where find-in-trace matched inside this record: field, JSON path, the text around. */
export function FoundPlaces({ places }: { places: FindPlace[] }) {
  if (!places.length) return null;
  return (
    <div className="found" data-testid="found-places">
      <b>Found in</b>
      <ul>
        {places.map((p, i) => (
          <li key={i} className={p.history ? "history" : ""}>
            <span className="mono path">{p.path}</span>
            {p.history && <span className="muted"> (prompt history)</span>}:{" "}
            <span className="snippet">
              {p.before}
              <mark>{p.match}</mark>
              {p.after}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function RecordDetail({
  traceId,
  record,
  places = [],
}: {
  traceId: string;
  record: RecordOutline;
  places?: FindPlace[];
}) {
  const [full, setFull] = useState<FullRecord | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    setFull(null);
    setError(null);
    getJson<FullRecord>(
      `/api/traces/${encodeURIComponent(traceId)}/records/${encodeURIComponent(record.run_id)}`,
      abort.signal,
    )
      .then(setFull)
      .catch((e) => abort.signal.aborted || setError(String(e.message ?? e)));
    return () => abort.abort();
  }, [traceId, record.run_id, record.end_us]);

  return (
    <div className="record-detail" data-run-id={record.run_id}>
      <h3>
        <span className={`kind ${record.run_type}`}>{record.run_type}</span> {record.tool_name || record.name}
      </h3>
      <div className="ids">
        <span className="mono muted">{record.run_id}</span> <CopyButton value={record.run_id} what="record id" label="Copy id" />
      </div>
      <FoundPlaces places={places} />
      <div className="facts">
        <span>{record.success ? "ok" : "failed"}</span>
        <span>{fmtTime(record.start_us)}</span>
        <span>{record.end_us === null ? "running" : fmtDuration(record.duration)}</span>
        {record.model && <span>{record.model}</span>}
        {record.tokens_used !== undefined && (
          <span>
            {record.tokens_used.toLocaleString()} tokens ({(record.prompt_tokens ?? 0).toLocaleString()} in /{" "}
            {(record.completion_tokens ?? 0).toLocaleString()} out)
          </span>
        )}
        {record.cost_usd !== undefined && <span>{fmtCost(record.cost_usd)}</span>}
        {record.run_type === "think" && <Link to={`/playground?trace=${traceId}&run=${record.run_id}`} data-testid="open-in-playground">Open in playground</Link>}
      </div>
      {error && <p className="error-text">{error}</p>}
      {!full && !error && <p className="muted">Loading…</p>}
      {full && (
        <>
          {!full.success && (
            <Section title="Error">
              <pre className="text error-text">{errorLine(full.error_type, full.error)}</pre>
              {full.stacktrace ? (
                <details open>
                  <summary>Stack trace</summary>
                  <Value value={full.stacktrace} />
                </details>
              ) : null}
            </Section>
          )}
          {full.run_type === "think" && (
            <>
              {Array.isArray(full.system_prompts) && full.system_prompts.length > 0 && (
                <Section title="System prompt" copy={full.system_prompts.length === 1 ? full.system_prompts[0] : full.system_prompts}>
                  <Value value={full.system_prompts.length === 1 ? full.system_prompts[0] : full.system_prompts} />
                </Section>
              )}
              <Section title="Prompt (messages sent)" copy={full.messages}>
                <Chat messages={full.messages} />
              </Section>
              <Section title="Response" copy={full.llm_response}>
                <MarkdownOrRaw value={full.llm_response} />
              </Section>
              {Array.isArray(full.tool_calls) && full.tool_calls.length > 0 && (
                <Section title="Tool calls" copy={full.tool_calls}>
                  <Value value={full.tool_calls} />
                </Section>
              )}
            </>
          )}
          {full.run_type === "tool" && (
            <>
              <Section title="Parameters" copy={full.input_params}>
                <Value value={full.input_params} />
              </Section>
              <Section title="Output" copy={full.output}>
                <Value value={full.output} />
              </Section>
            </>
          )}
          {full.run_type === "step" && (
            <>
              <Section title="Inputs" copy={full.inputs}>
                <Value value={full.inputs} />
              </Section>
              <Section title="Output" copy={full.output}>
                <Value value={full.output} />
              </Section>
            </>
          )}
          {full.metadata && Object.keys(full.metadata as object).length > 0 ? (
            <Section title="Metadata" open={false}>
              <Value value={full.metadata} />
            </Section>
          ) : null}
        </>
      )}
    </div>
  );
}

/** "Type: message", the type once even when the message already starts with it. */
export function errorLine(type: unknown, message: unknown): string {
  const t = String(type ?? "Error");
  const m = String(message ?? "");
  return m.startsWith(`${t}:`) || m === t ? m : `${t}: ${m}`;
}
