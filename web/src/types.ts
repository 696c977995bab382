// Shapes of the viewer's JSON API (see /api/openapi.json).

export interface Preview {
  text: string;
  size: number;
  clipped: boolean;
  stored_truncated: boolean;
}

export interface TraceSummary {
  trace_id: string;
  name: string | null;
  agent_name: string | null;
  session_id: string | null;
  status: string;
  start_us: number;
  end_us: number | null;
  duration: number | null;
  has_errors: boolean;
  error_count: number;
  run_count: number;
  think_count: number;
  tool_count: number;
  tokens_used: number;
  cost_usd: number | null;
  input_preview: string | null;
  output_preview: string | null;
  error: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  tools: string[];
  models: string[];
}

export interface ToolCallOutline {
  id: string | null;
  name: string | null;
}

export interface RecordOutline {
  run_id: string;
  parent_id: string | null;
  run_type: string;
  name: string;
  start_us: number;
  end_us: number | null;
  duration: number | null;
  success: boolean;
  error: Preview | null;
  error_type: string | null;
  has_stacktrace: boolean;
  previews: Record<string, Preview>;
  model?: string | null;
  agent_name?: string | null;
  tokens_used?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  cost_usd?: number | null;
  tool_calls?: ToolCallOutline[];
  tool_name?: string;
  tool_call_id?: string | null;
}

export interface TraceDetail extends TraceSummary {
  input: Preview | null;
  output: Preview | null;
  logs: { level: string; message: string; timestamp: string; run_id: string | null }[];
  records: RecordOutline[];
}

export interface LargeValue {
  $large: true;
  size: number;
  preview: string;
  download: string;
  note: string;
}

export type FullRecord = Record<string, unknown> & {
  run_id: string;
  run_type: string;
  name: string;
  success: boolean;
};

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface WriterHealth {
  writer_id: string;
  host: string;
  pid: number;
  started_us: number;
  updated_us: number;
  submitted: number;
  written: number;
  partial_writes: number;
  write_errors: number;
  dropped: Record<string, number>;
  dropped_total: number;
  buffer_depth: number;
  last_error: string | null;
  closed: boolean;
  live: boolean;
}

export interface WritersReport {
  writers: WriterHealth[];
  totals: {
    writers: number;
    submitted: number;
    written: number;
    write_errors: number;
    buffer_depth: number;
    dropped: Record<string, number>;
    dropped_total: number;
  };
}

export interface FindPlace {
  field: string;
  path: string;
  before: string;
  match: string;
  after: string;
  history: boolean;
}

export interface FindHit {
  run_id: string;
  fields: string[];
  own: boolean;
  places: FindPlace[];
}
