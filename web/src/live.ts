// The live feed: an EventSource on /api/live that reconnects by itself.
import { useEffect, useRef } from "react";
import type { TraceSummary } from "./types";

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
    const source = new EventSource(`/api/live${search}`);
    source.addEventListener("trace", (event) => {
      handler.current(JSON.parse((event as MessageEvent<string>).data) as TraceSummary);
    });
    source.addEventListener("reset", () => reset.current?.());
    return () => source.close();
  }, [search, enabled]);
}
