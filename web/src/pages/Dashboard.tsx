// Per agent and overall: response time p50/p95 and success rate over time, tokens and
// cost, tool usage (calls, average and p95 duration, failures).
import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { createColumnHelper } from "@tanstack/react-table";
import { getJson, query } from "../api";
import { fmtCost, fmtDuration } from "../format";
import { Chart, type ChartOption } from "../components/Chart";
import { ScoreChart } from "../components/ScoreChart";
import { DataTable } from "../components/DataTable";

interface Stats {
  trace_count: number;
  success_count: number;
  error_count: number;
  success_rate: number;
  avg_response_time: number;
  p50_response_time: number;
  p95_response_time: number;
  p99_response_time: number;
  total_tokens: number;
  total_cost: number;
  agent_name?: string;
}
interface Bucket extends Stats {
  start_us: number;
}
interface ToolStat {
  tool_name: string;
  call_count: number;
  error_count: number;
  success_rate: number;
  avg_duration: number;
  p95_duration: number;
}

const RANGES: [string, number][] = [
  ["last hour", 3600],
  ["last 24 hours", 86400],
  ["last 7 days", 7 * 86400],
  ["last 30 days", 30 * 86400],
  ["all time", 0],
];
const STEPS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400];

/** A bucket (seconds) giving about 40 points over `span` seconds of data. */
export function bucketFor(span: number): number {
  return STEPS.find((s) => span / s <= 40) ?? STEPS[STEPS.length - 1];
}

/** Axis labels for data spanning `span` seconds: seconds, minutes, hours or dates. */
function timeLabel(span: number): (ms: number) => string {
  const opts: Intl.DateTimeFormatOptions =
    span <= 600
      ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
      : span <= 2 * 86400
        ? { hour: "2-digit", minute: "2-digit" }
        : { month: "short", day: "numeric" };
  return (ms) => new Date(ms).toLocaleString(undefined, opts);
}

const tools = createColumnHelper<ToolStat>();
const agents = createColumnHelper<Stats>();

export default function Dashboard() {
  const [params, setParams] = useSearchParams();
  const agent = params.get("agent") ?? "";
  const range = Number(params.get("range") ?? "4");
  const [span, seconds] = RANGES[range] ?? RANGES[4];
  const [start] = useState(() => (seconds ? new Date(Date.now() - seconds * 1000).toISOString() : undefined));
  const filter = useMemo(
    () => ({ agent: agent || undefined, start: seconds ? new Date(Date.now() - seconds * 1000).toISOString() : start }),
    [agent, seconds], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const [overall, setOverall] = useState<Stats | null>(null);
  const [series, setSeries] = useState<Bucket[]>([]);
  const [toolStats, setToolStats] = useState<ToolStat[]>([]);
  const [agentStats, setAgentStats] = useState<Stats[]>([]);
  const [names, setNames] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  // The data's own time window inside the range: the first and the newest trace.
  const [window_, setWindow] = useState<[number, number] | null>(null);
  useEffect(() => {
    setWindow(null);
    const q = (order: string) => getJson<{ items: { start_us: number }[] }>(`/api/traces${query({ ...filter, order, limit: "1" })}`);
    Promise.all([q("start_time"), q("-start_time")])
      .then(([first, last]) => {
        if (first.items.length && last.items.length) setWindow([first.items[0].start_us / 1000, last.items[0].start_us / 1000]);
        else setWindow([Date.now() - (seconds || 3600) * 1000, Date.now()]);
      })
      .catch(() => setWindow([Date.now() - 3600_000, Date.now()]));
  }, [filter]); // eslint-disable-line react-hooks/exhaustive-deps
  const dataSpan = window_ ? Math.max((window_[1] - window_[0]) / 1000, 1) : null;
  const interval = dataSpan === null ? null : bucketFor(dataSpan);

  useEffect(() => {
    getJson<{ agents: string[] }>("/api/facets").then((f) => setNames(f.agents)).catch(() => undefined);
  }, []);
  useEffect(() => {
    if (interval === null) return;
    const q = query(filter);
    setError(null);
    Promise.all([
      getJson<Stats>(`/api/stats${q}`),
      getJson<{ buckets: Bucket[] }>(`/api/stats/timeseries${query({ ...filter, interval: String(interval) })}`),
      getJson<{ tools: ToolStat[] }>(`/api/stats/tools${q}`),
      getJson<{ agents: Stats[] }>(`/api/stats/agents${q}`),
    ])
      .then(([o, s, t, a]) => {
        setOverall(o);
        setSeries(s.buckets);
        setToolStats(t.tools);
        setAgentStats(a.agents);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [filter, interval]);

  const times = series.map((b) => b.start_us / 1000);
  // The axis spans the data (padded by a bucket), so a short run is not a dot on a
  // two-day axis; labels never overlap and say seconds, minutes or dates as fits.
  const step = (interval ?? 3600) * 1000;
  const xAxis = {
    type: "time",
    min: window_ ? Math.floor(window_[0] / step) * step - step : undefined,
    max: window_ ? Math.floor(window_[1] / step) * step + 2 * step : undefined,
    splitNumber: 5,
    axisLabel: { hideOverlap: true, formatter: timeLabel(dataSpan ?? 86400) },
  };
  const latency: ChartOption = {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 50, right: 50, top: 30, bottom: 30 },
    xAxis,
    yAxis: [
      { type: "value", name: "seconds" },
      { type: "value", name: "success %", min: 0, max: 100 },
    ],
    series: [
      { name: "p50", type: "line", showSymbol: series.length < 40, data: series.map((b, i) => [times[i], b.p50_response_time]) },
      { name: "p95", type: "line", showSymbol: series.length < 40, data: series.map((b, i) => [times[i], b.p95_response_time]) },
      { name: "success rate", type: "line", yAxisIndex: 1, showSymbol: series.length < 40, data: series.map((b, i) => [times[i], b.success_rate]) },
    ],
  };
  const usage: ChartOption = {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 60, right: 60, top: 30, bottom: 30 },
    xAxis,
    yAxis: [
      { type: "value", name: "tokens", minInterval: 1 },
      { type: "value", name: "USD" },
    ],
    series: [
      { name: "tokens", type: "bar", barMaxWidth: 24, data: series.map((b, i) => [times[i], b.total_tokens]) },
      { name: "cost", type: "line", yAxisIndex: 1, showSymbol: series.length < 40, data: series.map((b, i) => [times[i], b.total_cost || null]) },
    ],
  };
  const toolChart: ChartOption = {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 110, right: 20, top: 30, bottom: 20 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: toolStats.map((t) => t.tool_name) },
    series: [
      { name: "calls", type: "bar", stack: "c", data: toolStats.map((t) => t.call_count - t.error_count) },
      { name: "failures", type: "bar", stack: "c", itemStyle: { color: "#e5484d" }, data: toolStats.map((t) => t.error_count) },
    ],
  };

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <div className="page dashboard">
      <div className="filters">
        <label>
          Agent{" "}
          <select value={agent} onChange={(e) => set("agent", e.target.value)} aria-label="agent">
            <option value="">all agents</option>
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          Range{" "}
          <select value={range} onChange={(e) => set("range", e.target.value === "4" ? "" : e.target.value)} aria-label="range">
            {RANGES.map(([name], i) => (
              <option key={name} value={i}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{span}</span>
        {error && <span className="error-text">{error}</span>}
      </div>
      {overall && overall.trace_count === 0 && (
        <div className="empty setup" data-testid="empty-setup">
          <p>
            <b>No finished traces {seconds ? `in the ${span}` : "yet"}.</b> The dashboard fills in as runs finish.
          </p>
          <p>Run an agent with traces kept in this viewer's database (for example TRACE_STORAGE=sqlite), or widen the range.</p>
        </div>
      )}
      {overall && overall.trace_count > 0 && (
        <div className="cards" data-testid="stat-cards">
          <div className="card"><b>{overall.trace_count}</b><span>traces</span></div>
          <div className="card"><b>{overall.success_rate.toFixed(1)}%</b><span>success</span></div>
          <div className="card"><b>{fmtDuration(overall.p50_response_time)}</b><span>p50</span></div>
          <div className="card"><b>{fmtDuration(overall.p95_response_time)}</b><span>p95</span></div>
          <div className="card"><b>{overall.total_tokens.toLocaleString()}</b><span>tokens</span></div>
          <div className="card" data-testid="card-cost"><b>{fmtCost(overall.total_cost || null)}</b><span>cost</span></div>
        </div>
      )}
      <div className="charts">
        <section><h3>Response time and success rate</h3><Chart option={latency} testId="chart-latency" /></section>
        <section><h3>Tokens and cost</h3><Chart option={usage} testId="chart-usage" /></section>
        <section><h3>Tool usage</h3><Chart option={toolChart} testId="chart-tools" /></section>
        <ScoreChart filter={filter} interval={interval ?? 3600} />
      </div>
      <h3>Tools</h3>
      <DataTable
        testId="tool-table"
        data={toolStats}
        columns={[
          tools.accessor("tool_name", { header: "Tool" }),
          tools.accessor("call_count", { header: "Calls" }),
          tools.accessor("error_count", { header: "Failures" }),
          tools.accessor("success_rate", { header: "Success", cell: (c) => `${c.getValue().toFixed(1)}%` }),
          tools.accessor("avg_duration", { header: "Average", cell: (c) => fmtDuration(c.getValue()) }),
          tools.accessor("p95_duration", { header: "p95", cell: (c) => fmtDuration(c.getValue()) }),
        ]}
      />
      <h3>Agents</h3>
      <DataTable
        testId="agent-table"
        data={agentStats}
        onRowClick={(a) => set("agent", a.agent_name ?? "")}
        columns={[
          agents.accessor("agent_name", { header: "Agent" }),
          agents.accessor("trace_count", { header: "Traces" }),
          agents.accessor("success_rate", { header: "Success", cell: (c) => `${c.getValue().toFixed(1)}%` }),
          agents.accessor("p50_response_time", { header: "p50", cell: (c) => fmtDuration(c.getValue()) }),
          agents.accessor("p95_response_time", { header: "p95", cell: (c) => fmtDuration(c.getValue()) }),
          agents.accessor("total_tokens", { header: "Tokens", cell: (c) => c.getValue().toLocaleString() }),
          agents.accessor("total_cost", { header: "Cost", cell: (c) => fmtCost(c.getValue() || null) }),
        ]}
      />
    </div>
  );
}
