// The live feed: one EventSource on /api/live for the whole app, kept open across page
// changes (so moving between pages never aborts it); each page takes the summaries its
// filter passes, tested here with the server's rules. A filter this side cannot test
// exactly (full-text `q`, metadata) gets a filtered connection of its own.
import { useEffect, useRef } from "react";
import type { TraceSummary } from "./types";

type Match = (summary: TraceSummary) => boolean;
interface Listener {
  match: Match;
  onTrace: (summary: TraceSummary) => void;
  onReset: () => void;
}

const listeners = new Set<Listener>();
let shared: EventSource | null = null;

function sharedSource(): void {
  if (shared && shared.readyState !== EventSource.CLOSED) return;
  shared?.close();
  shared = new EventSource("/api/live");
  shared.addEventListener("trace", (event) => {
    const summary = JSON.parse((event as MessageEvent<string>).data) as TraceSummary;
    listeners.forEach((l) => l.match(summary) && l.onTrace(summary));
  });
  shared.addEventListener("reset", () => listeners.forEach((l) => l.onReset()));
}

const listOf = (params: URLSearchParams, key: string) => params.getAll(key).filter(Boolean);

/** A test of a summary against the live feed's query string (TraceFilter's rules, as
 * the storage applies them), or null when the query holds a part only the server can
 * test (full-text search, metadata). */
export function summaryMatcher(search: string): Match | null {
  const params = new URLSearchParams(search);
  if (params.get("q") || params.getAll("meta").length) return null;
  const agents = listOf(params, "agent");
  const sessions = listOf(params, "session");
  const ids = listOf(params, "trace_id");
  const statuses = listOf(params, "status");
  const tools = listOf(params, "tool");
  const anyTool = params.get("tools_match") === "any";
  const models = listOf(params, "model");
  const tags = listOf(params, "tag");
  const number = (key: string) => (params.get(key) ? Number(params.get(key)) : null);
  const [minDuration, maxDuration] = [number("min_duration"), number("max_duration")];
  const [minTokens, maxTokens, minCost] = [number("min_tokens"), number("max_tokens"), number("min_cost")];
  const time = (key: string) => (params.get(key) ? Date.parse(params.get(key)!) * 1000 : null);
  const [start, end] = [time("start"), time("end")];
  const errors = params.get("has_errors");
  return (s) =>
    (!agents.length || agents.includes(s.agent_name ?? "\u0000")) &&
    (!sessions.length || sessions.includes(s.session_id ?? "\u0000")) &&
    (!ids.length || ids.includes(s.trace_id)) &&
    (!statuses.length || statuses.includes(s.status)) &&
    (start === null || s.start_us >= start) &&
    (end === null || s.start_us <= end) &&
    (errors === null || s.has_errors === (errors === "true")) &&
    (minDuration === null || (s.duration ?? 0) >= minDuration) &&
    (maxDuration === null || (s.duration ?? 0) <= maxDuration) &&
    (minTokens === null || s.tokens_used >= minTokens) &&
    (maxTokens === null || s.tokens_used <= maxTokens) &&
    (minCost === null || (s.cost_usd ?? 0) >= minCost) &&
    tags.every((t) => s.tags.includes(t)) &&
    (!tools.length || (anyTool ? tools.some((t) => s.tools.includes(t)) : tools.every((t) => s.tools.includes(t)))) &&
    (!models.length || models.some((m) => s.models.includes(m)));
}

export function useLiveTraces(
  search: string,
  onTrace: (summary: TraceSummary) => void,
  onReset?: () => void,
  enabled = true,
): void {
  const handler = useRef(onTrace);
  const reset = useRef(onReset);
  handler.current = onTrace;
  reset.current = onReset;
  useEffect(() => {
    if (!enabled) return;
    const match = summaryMatcher(search);
    if (match === null) {
      const source = new EventSource(`/api/live${search}`);
      source.addEventListener("trace", (event) => {
        handler.current(JSON.parse((event as MessageEvent<string>).data) as TraceSummary);
      });
      source.addEventListener("reset", () => reset.current?.());
      return () => source.close();
    }
    const listener: Listener = {
      match,
      onTrace: (summary) => handler.current(summary),
      onReset: () => reset.current?.(),
    };
    listeners.add(listener);
    sharedSource();
    return () => {
      listeners.delete(listener);
    };
  }, [search, enabled]);
}
