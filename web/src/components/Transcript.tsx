// The run as a conversation: the user's input, each LLM reply, each tool call paired
// with its result, and the final answer. Text only (React escapes everything).
import { useEffect, useMemo, useRef } from "react";
import type { RecordOutline, TraceDetail } from "../types";
import { fmtDuration } from "../format";
import { MarkdownText } from "./Markdown";

interface Item {
  key: string;
  role: "user" | "assistant" | "tool" | "step" | "final";
  runId: string | null;
  title: string;
  text: string;
  extra?: string;
  failed?: boolean;
}

export function transcriptItems(trace: TraceDetail): Item[] {
  const items: Item[] = [];
  if (trace.input) items.push({ key: "input", role: "user", runId: null, title: "Input", text: trace.input.text });
  const tools = trace.records.filter((r) => r.run_type === "tool");
  const used = new Set<string>();
  const pair = (think: RecordOutline, callId: string | null, name: string | null) => {
    const found =
      tools.find((t) => !used.has(t.run_id) && callId && t.tool_call_id === callId) ??
      tools.find((t) => !used.has(t.run_id) && t.parent_id === think.run_id && (!name || t.tool_name === name));
    if (found) used.add(found.run_id);
    return found;
  };
  for (const r of trace.records) {
    if (r.run_type === "think") {
      const text = r.previews.llm_response?.text ?? (r.end_us === null ? "…thinking" : "");
      items.push({
        key: r.run_id,
        role: "assistant",
        runId: r.run_id,
        title: `${r.agent_name ?? "Assistant"} · ${r.model ?? "LLM"} · ${fmtDuration(r.duration)}`,
        text,
        failed: !r.success,
        extra: r.error ? `${r.error_type && !r.error.text.startsWith(r.error_type) ? `${r.error_type}: ` : ""}${r.error.text}` : undefined,
      });
      for (const call of r.tool_calls ?? []) {
        const result = pair(r, call.id, call.name);
        items.push({
          key: `${r.run_id}:${call.id ?? call.name}`,
          role: "tool",
          runId: result?.run_id ?? r.run_id,
          title: `Tool call · ${call.name ?? "?"}${result ? ` · ${fmtDuration(result.duration)}` : ""}`,
          text: result?.previews.input_params?.text ?? "",
          extra: result
            ? result.success
              ? result.previews.output?.text ?? (result.end_us === null ? "…running" : "(no output)")
              : `Error: ${result.error?.text ?? ""}`
            : "(no result recorded)",
          failed: result ? !result.success : false,
        });
      }
    } else if (r.run_type === "step") {
      items.push({ key: r.run_id, role: "step", runId: r.run_id, title: `Step · ${r.name}`, text: r.previews.output?.text ?? "", failed: !r.success });
    }
  }
  for (const t of tools) {
    if (used.has(t.run_id)) continue;
    items.push({
      key: t.run_id,
      role: "tool",
      runId: t.run_id,
      title: `Tool · ${t.tool_name ?? t.name} · ${fmtDuration(t.duration)}`,
      text: t.previews.input_params?.text ?? "",
      extra: t.success ? t.previews.output?.text ?? "" : `Error: ${t.error?.text ?? ""}`,
      failed: !t.success,
    });
  }
  if (trace.output) items.push({ key: "output", role: "final", runId: null, title: "Final output", text: trace.output.text });
  return items;
}

export function Transcript({
  trace,
  selected,
  matches,
  onSelect,
}: {
  trace: TraceDetail;
  selected: string | null;
  matches: Set<string>;
  onSelect: (runId: string) => void;
}) {
  const items = useMemo(() => transcriptItems(trace), [trace]);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!selected) return;
    const el = box.current?.querySelector(`[data-run-id="${CSS.escape(selected)}"]`);
    el?.scrollIntoView({ block: "nearest" });
  }, [selected]);
  return (
    <div className="transcript" ref={box}>
      {items.map((item) => (
        <div
          key={item.key}
          className={`msg ${item.role} ${item.failed ? "failed" : ""} ${item.runId && item.runId === selected ? "selected" : ""} ${
            item.runId && matches.has(item.runId) ? "match" : ""
          }`}
          data-run-id={item.runId ?? undefined}
          onClick={() => item.runId && onSelect(item.runId)}
        >
          <div className="msg-title">{item.title}</div>
          {item.text &&
            (item.role === "tool" ? <div className="msg-text mono">{item.text}</div> : <MarkdownText text={item.text} />)}
          {item.extra && <div className="msg-extra">{item.extra}</div>}
        </div>
      ))}
    </div>
  );
}
