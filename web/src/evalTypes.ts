// Shapes of the evaluation API: scores, datasets, experiments (see /api/openapi.json).

export type ScoreValue = number | boolean | string | null;

export interface Score {
  score_id: string;
  trace_id: string;
  run_id: string | null;
  name: string;
  data_type: "numeric" | "boolean" | "categorical" | "error";
  value: number | null;
  label: string | null;
  display: ScoreValue;
  comment: string | null;
  source: string;
  author: string | null;
  error: string | null;
  created_us: number;
}

export interface ScoreConfig {
  name: string;
  data_type: string;
  categories: string[] | null;
  min_value: number | null;
  max_value: number | null;
}

export interface DatasetItem {
  dataset: string;
  item_id: string;
  version: number;
  input: unknown;
  expected_output: unknown;
  metadata: Record<string, unknown>;
  source_trace_id: string | null;
  deleted: boolean;
  created_us: number;
}

export interface ScoreFigure {
  mean: number | null;
  count: number;
  errors: number;
}

export interface ExperimentSummary {
  items: number;
  finished: number;
  failed_runs: number;
  pass_rate: number | null;
  scores: Record<string, ScoreFigure>;
  latency_p50: number | null;
  latency_p95: number | null;
  tokens: number;
  cost_usd: number | null;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  dataset: string;
  status: string;
  created_us: number;
  summary: ExperimentSummary;
}

export interface ExperimentItem {
  item_id: string;
  trace_id: string;
  status: string | null;
  duration: number | null;
  tokens_used: number | null;
  cost_usd: number | null;
  output_preview: string | null;
  input_preview: string | null;
  scores: Record<string, number | null>;
  labels: Record<string, string>;
  errors: Record<string, string>;
  passed: boolean | null;
}

export interface CompareRow {
  item_id: string;
  base: ExperimentItem | null;
  other: ExperimentItem | null;
  deltas: Record<string, number | null>;
  latency_delta: number | null;
  regression: boolean;
}

export interface Comparison {
  base: { experiment_id: string; summary: ExperimentSummary };
  other: { experiment_id: string; summary: ExperimentSummary };
  items: CompareRow[];
}

export function fmtScore(value: ScoreValue | undefined): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "✓ yes" : "✗ no";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return value;
}
