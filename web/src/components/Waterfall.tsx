// The waterfall: one fixed-height row per record on real time, rows in tree order,
// virtualized (TanStack Virtual) so a run of thousands of records scrolls smoothly.
// Drag across the bars to zoom to that time span; subtrees collapse from the tree.
import { useEffect, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { RecordOutline } from "../types";
import { fmtDuration } from "../format";

export const ROW_HEIGHT = 22;
const LABEL_WIDTH = 230;

export interface WaterfallRow {
  record: RecordOutline;
  depth: number;
  children: number;
}

/** A time since the trace started (µs) as an axis label, as precise as the tick step. */
export function tickLabel(us: number, step: number): string {
  if (step >= 1_000_000) return `${(us / 1_000_000).toFixed(step % 1_000_000 ? 1 : 0)} s`;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step / 1000)));
  return `${(us / 1000).toFixed(Math.min(decimals, 3))} ms`;
}

/** Nice tick step (1, 2, 5 × 10^k µs) giving about `count` ticks over `span` µs. */
export function tickStep(span: number, count: number): number {
  const raw = Math.max(span / Math.max(count, 1), 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

export function Waterfall({
  rows,
  traceStart,
  traceEnd,
  selected,
  highlighted,
  onSelect,
  zoom,
  onZoom,
  collapsed,
  onToggle,
}: {
  rows: WaterfallRow[];
  traceStart: number;
  traceEnd: number;
  selected: string | null;
  highlighted: Set<string>;
  onSelect: (runId: string) => void;
  /** The time window shown, in µs since the trace started; null: the whole trace. */
  zoom: [number, number] | null;
  onZoom: (window: [number, number] | null) => void;
  collapsed: Set<string>;
  onToggle: (runId: string) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const track = useRef<HTMLDivElement>(null);
  const [tip, setTip] = useState<{ row: WaterfallRow; x: number; y: number } | null>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const total = Math.max(traceEnd - traceStart, 1);
  const [from, to] = zoom ?? [0, total];
  const span = Math.max(to - from, 1);
  const now = Date.now() * 1000;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
  });
  useEffect(() => {
    const index = rows.findIndex((r) => r.record.run_id === selected);
    if (index >= 0) virtualizer.scrollToIndex(index, { align: "auto" });
  }, [selected, rows]); // eslint-disable-line react-hooks/exhaustive-deps

  const position = (us: number) => ((us - from) / span) * 100;
  const fraction = (clientX: number) => {
    const box = track.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - box.left) / box.width));
  };
  const step = tickStep(span, 6);
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);

  return (
    <div className="wf" data-testid="waterfall">
      <div className="wf-axis">
        <div className="wf-axis-label" style={{ width: LABEL_WIDTH }}>
          {zoom ? (
            <button type="button" className="link" onClick={() => onZoom(null)}>
              Reset zoom
            </button>
          ) : (
            <span className="muted">drag across bars to zoom</span>
          )}
        </div>
        <div className="wf-ticks" ref={track} data-testid="waterfall-axis">
          {ticks.map((t) => (
            <span key={t} className="wf-tick" style={{ left: `${position(t)}%` }}>
              {tickLabel(t, step)}
            </span>
          ))}
        </div>
      </div>
      <div
        className="wf-scroll"
        ref={scroller}
        onMouseDown={(e) => {
          if (e.button !== 0 || (e.target as HTMLElement).closest(".wf-label")) return;
          const at = fraction(e.clientX);
          setDrag([at, at]);
        }}
        onMouseMove={(e) => drag && setDrag([drag[0], fraction(e.clientX)])}
        onMouseUp={() => {
          if (!drag) return;
          const [a, b] = [Math.min(...drag), Math.max(...drag)];
          setDrag(null);
          if (b - a > 0.01) onZoom([from + a * span, from + b * span]);
        }}
        onMouseLeave={() => {
          setDrag(null);
          setTip(null);
        }}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            const { record, depth } = row;
            const start = record.start_us - traceStart;
            const end = (record.end_us ?? Math.max(traceEnd, now)) - traceStart;
            // Clipped to the window: a record running past a zoomed span fills it, no more.
            const left = Math.min(Math.max(position(start), 0), 100);
            const width = Math.max(Math.min(position(end), 100) - left, 0.15);
            const failed = !record.success;
            return (
              <div
                key={record.run_id}
                className={`wf-row ${record.run_id === selected ? "selected" : ""} ${highlighted.has(record.run_id) ? "match" : ""}`}
                data-run-id={record.run_id}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                onClick={() => onSelect(record.run_id)}
              >
                <div className="wf-label" style={{ width: LABEL_WIDTH, paddingLeft: 4 + depth * 12 }}>
                  {row.children > 0 ? (
                    <button
                      type="button"
                      className="twisty"
                      aria-label={collapsed.has(record.run_id) ? "expand" : "collapse"}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(record.run_id);
                      }}
                    >
                      {collapsed.has(record.run_id) ? "▸" : "▾"}
                    </button>
                  ) : (
                    <span className="twisty" />
                  )}
                  <span className={`wf-name ${failed ? "error-text" : ""}`}>{record.tool_name || record.name}</span>
                  {collapsed.has(record.run_id) && <span className="muted"> +{row.children}</span>}
                </div>
                <div className="wf-track">
                  <div
                    className={`wf-bar kind-${record.run_type} ${failed ? "failed" : ""} ${record.end_us === null ? "running" : ""}`}
                    style={{ left: `${left}%`, width: `${width}%` }}
                    onMouseEnter={(e) => setTip({ row, x: e.clientX, y: e.clientY })}
                    onMouseLeave={() => setTip(null)}
                  />
                  <span className="wf-dur" style={{ left: `calc(${Math.min(left + width, 92)}% + 4px)` }}>
                    {record.end_us === null ? "running" : fmtDuration(record.duration)}
                  </span>
                </div>
              </div>
            );
          })}
        </div>
        {drag && (
          <div
            className="wf-drag"
            style={{
              left: `calc(${LABEL_WIDTH}px + (100% - ${LABEL_WIDTH}px) * ${Math.min(...drag)})`,
              width: `calc((100% - ${LABEL_WIDTH}px) * ${Math.abs(drag[1] - drag[0])})`,
            }}
          />
        )}
      </div>
      {tip && (
        <div className="wf-tip" role="tooltip" style={{ left: tip.x + 12, top: tip.y + 12 }}>
          <div>
            <b>{tip.row.record.run_type}</b>: {tip.row.record.tool_name || tip.row.record.name}
          </div>
          <div>{tip.row.record.end_us === null ? "running" : fmtDuration(tip.row.record.duration)}</div>
          {tip.row.record.model && <div className="muted">{tip.row.record.model}</div>}
        </div>
      )}
    </div>
  );
}
