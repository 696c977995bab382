// The dashboard's score chart: the mean of a chosen score per interval, for the filter.
import { useEffect, useState } from "react";
import { getJson, query } from "../api";
import { Chart, type ChartOption } from "./Chart";

interface Bucket {
  start_us: number;
  count: number;
  mean: number;
}

export function ScoreChart({ filter, interval }: { filter: Record<string, string | string[] | undefined>; interval: number }) {
  const [names, setNames] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [buckets, setBuckets] = useState<Bucket[]>([]);
  const filterKey = JSON.stringify(filter);

  useEffect(() => {
    getJson<{ names: string[] }>("/api/scores/names")
      .then((r) => {
        setNames(r.names);
        setName((n) => n || r.names[0] || "");
      })
      .catch(() => setNames([]));
  }, []);
  useEffect(() => {
    if (!name) return;
    getJson<{ buckets: Bucket[] }>(`/api/scores/series${query({ ...filter, name, interval: String(interval) })}`)
      .then((r) => setBuckets(r.buckets))
      .catch(() => setBuckets([]));
  }, [name, filterKey, interval]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!names.length) return null;
  const option: ChartOption = {
    tooltip: { trigger: "axis" },
    legend: { data: ["mean", "scores"] },
    grid: { left: 50, right: 50, top: 30, bottom: 30 },
    xAxis: { type: "time" },
    yAxis: [{ type: "value", name: "mean" }, { type: "value", name: "scores" }],
    series: [
      { name: "mean", type: "line", data: buckets.map((b) => [b.start_us / 1000, b.mean]) },
      { name: "scores", type: "bar", yAxisIndex: 1, data: buckets.map((b) => [b.start_us / 1000, b.count]) },
    ],
  };
  return (
    <section>
      <h3>
        Score over time{" "}
        <select aria-label="score to chart" value={name} onChange={(e) => setName(e.target.value)}>
          {names.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </h3>
      <Chart option={option} testId="chart-scores" />
    </section>
  );
}
