// The detail pane: one record's prompts, response, tool parameters and output, tokens,
// cost and errors with stack traces, loaded on demand (large fields as downloads).
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { getJson } from "../api";
import { fmtCost, fmtDuration, fmtTime } from "../format";
import type { FullRecord, RecordOutline } from "../types";
import { MarkdownOrRaw, Section, Value } from "./Payload";

export function RecordDetail({ traceId, record }: { traceId: string; record: RecordOutline }) {
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
      <div className="facts">
        <span>{record.success ? "ok" : "failed"}</span>
        <span>{fmtTime(record.start_us)}</span>
        <span>{record.end_us === null ? "running" : fmtDuration(record.duration)}</span>
        {record.model && <span>{record.model}</span>}
        {record.tokens_used !== undefined && (
          <span>
            {record.tokens_used} tokens ({record.prompt_tokens ?? 0} in / {record.completion_tokens ?? 0} out)
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
              <pre className="text error-text">
                {String(full.error_type ?? "Error")}: {String(full.error ?? "")}
              </pre>
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
                <Section title="System prompt">
                  <Value value={full.system_prompts.length === 1 ? full.system_prompts[0] : full.system_prompts} />
                </Section>
              )}
              <Section title="Prompt (messages sent)" open={false}>
                <Value value={full.messages} collapsed />
              </Section>
              <Section title="Response">
                <MarkdownOrRaw value={full.llm_response} />
              </Section>
              {Array.isArray(full.tool_calls) && full.tool_calls.length > 0 && (
                <Section title="Tool calls">
                  <Value value={full.tool_calls} />
                </Section>
              )}
            </>
          )}
          {full.run_type === "tool" && (
            <>
              <Section title="Parameters">
                <Value value={full.input_params} />
              </Section>
              <Section title="Output">
                <Value value={full.output} />
              </Section>
            </>
          )}
          {full.run_type === "step" && (
            <>
              <Section title="Inputs">
                <Value value={full.inputs} />
              </Section>
              <Section title="Output">
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
