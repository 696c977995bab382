// Score columns for the trace list: pick score names; each becomes a column holding the
// trace's latest score of that name (fetched for the loaded rows, 500 at a time).
import { type ReactElement, useEffect, useMemo, useState } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import { getJson, query } from "../api";
import { fmtScore, type ScoreValue } from "../evalTypes";
import type { TraceSummary } from "../types";

const KEY = "myagent.scoreColumns";

export function useScoreColumns(rows: TraceSummary[]): {
  columns: ColumnDef<TraceSummary, unknown>[];
  picker: ReactElement;
} {
  const [chosen, setChosen] = useState<string[]>(() => JSON.parse(localStorage.getItem(KEY) ?? "[]"));
  const [names, setNames] = useState<string[]>([]);
  const [values, setValues] = useState<Record<string, Record<string, ScoreValue>>>({});

  useEffect(() => {
    getJson<{ names: string[] }>("/api/scores/names")
      .then((r) => setNames(r.names))
      .catch(() => setNames([]));
  }, []);
  useEffect(() => localStorage.setItem(KEY, JSON.stringify(chosen)), [chosen]);

  const ids = rows.map((r) => r.trace_id).join(",");
  useEffect(() => {
    if (!chosen.length || !rows.length) return;
    const want = rows.map((r) => r.trace_id).filter((id) => !(id in values)).slice(0, 500);
    if (!want.length) return;
    getJson<Record<string, Record<string, ScoreValue>>>(`/api/scores/columns${query({ trace_id: want, name: chosen })}`)
      .then((found) => setValues((old) => ({ ...old, ...Object.fromEntries(want.map((id) => [id, found[id] ?? {}])) })))
      .catch(() => undefined);
  }, [ids, chosen]); // eslint-disable-line react-hooks/exhaustive-deps

  const columns = useMemo<ColumnDef<TraceSummary, unknown>[]>(
    () =>
      chosen.map((name) => ({
        id: `score-${name}`,
        header: name,
        cell: (c) => <span className="score-cell">{fmtScore(values[c.row.original.trace_id]?.[name])}</span>,
      })),
    [chosen, values],
  );

  const picker = (
    <select
      aria-label="score column"
      value=""
      onChange={(e) => {
        const name = e.target.value;
        if (!name) return;
        setValues({});
        setChosen((c) => (c.includes(name) ? c.filter((n) => n !== name) : [...c, name]));
      }}
    >
      <option value="">score columns{chosen.length ? ` (${chosen.length})` : ""}…</option>
      {names.map((n) => (
        <option key={n} value={n}>
          {chosen.includes(n) ? "✓ " : ""}
          {n}
        </option>
      ))}
    </select>
  );
  return { columns, picker };
}
