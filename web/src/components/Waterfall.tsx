// The zoomable waterfall: one bar per record on real time (ms since the trace started),
// rows in tree order, drawn by an ECharts custom series with x/y zoom.
import { useMemo } from "react";
import type { ChartOption } from "./Chart";
import { Chart } from "./Chart";
import type { RecordOutline } from "../types";
import { fmtDuration } from "../format";

const COLORS: Record<string, string> = { think: "#5b7cfa", tool: "#2fa36b", step: "#8a8f98" };
const ROWS_VISIBLE = 28;

export interface WaterfallRow {
  record: RecordOutline;
  depth: number;
}

export function Waterfall({
  rows,
  traceStart,
  traceEnd,
  selected,
  highlighted,
  onSelect,
}: {
  rows: WaterfallRow[];
  traceStart: number;
  traceEnd: number;
  selected: string | null;
  highlighted: Set<string>;
  onSelect: (runId: string) => void;
}) {
  const option = useMemo<ChartOption>(() => {
    const now = Date.now() * 1000;
    const data = rows.map(({ record }, index) => {
      const start = (record.start_us - traceStart) / 1000;
      const end = ((record.end_us ?? Math.max(traceEnd, now)) - traceStart) / 1000;
      return {
        value: [index, start, Math.max(end, start + 0.001), record.duration ?? -1],
        name: record.tool_name || record.name,
        runId: record.run_id,
        kind: record.run_type,
        failed: !record.success,
        running: record.end_us === null,
      };
    });
    const selectedIndex = rows.findIndex((r) => r.record.run_id === selected);
    const windowStart = Math.max(0, Math.min(selectedIndex - 5, rows.length - ROWS_VISIBLE));
    return {
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 36, containLabel: false },
      tooltip: {
        formatter: (p: { data: { name: string; value: number[]; kind: string } }) =>
          `${p.data.kind}: ${p.data.name}<br/>${p.data.value[3] < 0 ? "running" : fmtDuration(p.data.value[3])}`,
        renderMode: "richText",
      },
      xAxis: { type: "value", min: 0, axisLabel: { formatter: "{value} ms" }, splitLine: { lineStyle: { color: "#eee" } } },
      yAxis: { type: "category", data: rows.map((r) => r.record.run_id), inverse: true, show: false },
      dataZoom: [
        { type: "slider", xAxisIndex: 0, height: 16, bottom: 4, filterMode: "weakFilter" },
        { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" },
        {
          type: "slider",
          yAxisIndex: 0,
          right: 4,
          width: 14,
          startValue: windowStart,
          endValue: windowStart + ROWS_VISIBLE - 1,
          filterMode: "weakFilter",
          zoomLock: false,
        },
        { type: "inside", yAxisIndex: 0, zoomOnMouseWheel: false, moveOnMouseWheel: true, moveOnMouseMove: false },
      ],
      series: [
        {
          type: "custom",
          encode: { x: [1, 2], y: 0 },
          data,
          clip: true,
          renderItem: (params: any, api: any) => {
            const index = api.value(0);
            const start = api.coord([api.value(1), index]);
            const end = api.coord([api.value(2), index]);
            const band = api.size([0, 1])[1];
            const height = Math.max(4, band * 0.62);
            const item = data[params.dataIndex];
            const width = Math.max(2, end[0] - start[0]);
            const isSelected = item.runId === selected;
            const color = item.failed ? "#e5484d" : COLORS[item.kind] ?? "#8a8f98";
            const depth = rows[params.dataIndex].depth;
            return {
              type: "group",
              children: [
                {
                  type: "rect",
                  shape: { x: start[0], y: start[1] - height / 2, width, height, r: 2 },
                  style: {
                    fill: color,
                    opacity: item.running ? 0.55 : 1,
                    stroke: isSelected ? "#111" : highlighted.has(item.runId) ? "#f5a623" : undefined,
                    lineWidth: isSelected || highlighted.has(item.runId) ? 2 : 0,
                  },
                },
                {
                  type: "text",
                  style: {
                    text: `${"  ".repeat(depth)}${item.name}${item.running ? " (running)" : ""}`,
                    x: start[0] + width + 4,
                    y: start[1],
                    verticalAlign: "middle",
                    fill: "#333",
                    font: "11px sans-serif",
                  },
                },
              ],
            };
          },
        },
      ],
    };
  }, [rows, traceStart, traceEnd, selected, highlighted]);

  return (
    <Chart
      option={option}
      height="100%"
      testId="waterfall"
      notMerge={false}
      onClick={(p) => {
        const d = p.data as { runId?: string } | undefined;
        if (d?.runId) onSelect(d.runId);
      }}
    />
  );
}
