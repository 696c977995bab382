// The playground: a recorded LLM call made editable (system prompt, messages, model,
// temperature, tool schemas), sent again from the server to the configured endpoint,
// its answer streamed in beside the recorded one with a word diff. Each run is saved as
// a trace tagged "playground", linked to the record it came from.
import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { diffWords } from "diff";
import { getJson, postEventStream } from "../api";
import "./Playground.css";

interface PlaygroundConfig {
  configured: boolean;
  endpoint: string | null;
  message: string | null;
  default_model: string;
  models: { id: string; source: string }[];
}

interface PlaygroundSource {
  trace_id: string;
  run_id: string;
  agent_name: string | null;
  model: string | null;
  temperature: number | null;
  system_prompt: string | null;
  messages: unknown[];
  tools: unknown[] | null;
  tool_choice: unknown;
  recorded: { content: unknown; tool_calls: unknown[] };
}

interface Done {
  content: string | null;
  tool_calls: unknown[];
  model: string;
  tokens: number;
  error: string | null;
  trace_id: string | null;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

function answerText(content: unknown, toolCalls: unknown[] | undefined): string {
  const text = typeof content === "string" ? content : content == null ? "" : json(content);
  const calls = toolCalls && toolCalls.length ? `\n\ntool calls:\n${json(toolCalls)}` : "";
  return (text + calls).trim();
}

function Editor({ value, onChange, label, height }: { value: string; onChange: (v: string) => void; label: string; height: string }) {
  return (
    <div className="pg-editor" data-testid={`pg-${label}`}>
      <label>{label}</label>
      <CodeMirror
        value={value}
        onChange={onChange}
        basicSetup={{ lineNumbers: true, foldGutter: false }}
        extensions={[EditorView.lineWrapping]}
        maxHeight={height}
        minHeight="3em"
      />
    </div>
  );
}

export default function PlaygroundPage() {
  const [params] = useSearchParams();
  const traceId = params.get("trace") ?? "";
  const runId = params.get("run") ?? "";
  const [config, setConfig] = useState<PlaygroundConfig | null>(null);
  const [source, setSource] = useState<PlaygroundSource | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [system, setSystem] = useState("");
  const [messages, setMessages] = useState("[]");
  const [tools, setTools] = useState("");
  const [model, setModel] = useState("");
  const [temperature, setTemperature] = useState("");
  const [answer, setAnswer] = useState("");
  const [done, setDone] = useState<Done | null>(null);
  const [running, setRunning] = useState(false);

  useEffect(() => {
    getJson<PlaygroundConfig>("/api/playground/config")
      .then((c) => {
        setConfig(c);
        setModel((m) => m || c.default_model);
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, []);

  useEffect(() => {
    if (!traceId || !runId) return;
    getJson<PlaygroundSource>(`/api/playground/source/${encodeURIComponent(traceId)}/${encodeURIComponent(runId)}`)
      .then((s) => {
        setSource(s);
        setSystem(s.system_prompt ?? "");
        setMessages(json(s.messages));
        setTools(s.tools ? json(s.tools) : "");
        if (s.model) setModel(s.model);
        setTemperature(s.temperature == null ? "" : String(s.temperature));
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, [traceId, runId]);

  const recorded = source ? answerText(source.recorded.content, source.recorded.tool_calls) : "";
  const current = done ? answerText(done.content, done.tool_calls) : answer;
  const changes = useMemo(() => (done && source ? diffWords(recorded, current) : []), [done, source, recorded, current]);

  async function run() {
    setError(null);
    setAnswer("");
    setDone(null);
    let body: Record<string, unknown>;
    try {
      body = {
        trace_id: traceId || null,
        run_id: runId || null,
        model,
        system_prompt: system || null,
        messages: JSON.parse(messages),
        temperature: temperature === "" ? null : Number(temperature),
        tools: tools.trim() ? JSON.parse(tools) : null,
        tool_choice: source?.tool_choice ?? null,
      };
    } catch (e) {
      setError(`Messages and tools must be valid JSON: ${(e as Error).message}`);
      return;
    }
    setRunning(true);
    try {
      await postEventStream("/api/playground/run", body, (kind, data) => {
        if (kind === "delta") setAnswer((a) => a + String((data as { text: string }).text));
        else if (kind === "error") setError(String((data as { message: string }).message));
        else if (kind === "done") setDone(data as Done);
      });
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setRunning(false);
    }
  }

  return (
    <div className="page playground-page">
      <h2>Playground</h2>
      {config && !config.configured && (
        <p className="error-text" data-testid="playground-unconfigured">
          {config.message}
        </p>
      )}
      {source && (
        <p className="muted">
          From <Link to={`/traces/${source.trace_id}`}>{source.agent_name ?? "trace"}</Link>, LLM call {source.run_id}
        </p>
      )}
      <div className="pg-controls">
        <label>
          Model{" "}
          <input list="pg-models" value={model} onChange={(e) => setModel(e.target.value)} data-testid="pg-model" />
        </label>
        <datalist id="pg-models">
          {config?.models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.source}
            </option>
          ))}
        </datalist>
        <label>
          Temperature{" "}
          <input
            type="number"
            min="0"
            max="2"
            step="0.1"
            value={temperature}
            placeholder="default"
            onChange={(e) => setTemperature(e.target.value)}
            data-testid="pg-temperature"
          />
        </label>
        <button onClick={run} disabled={running || !config?.configured} data-testid="pg-run">
          {running ? "Running…" : "Run"}
        </button>
      </div>
      {error && <p className="error-text" data-testid="pg-error">{error}</p>}
      <div className="pg-columns">
        <div className="pg-inputs">
          <Editor label="system prompt" value={system} onChange={setSystem} height="200px" />
          <Editor label="messages" value={messages} onChange={setMessages} height="360px" />
          <Editor label="tools" value={tools} onChange={setTools} height="240px" />
        </div>
        <div className="pg-outputs">
          <h3>Recorded answer</h3>
          <pre className="text" data-testid="pg-recorded">{recorded || "—"}</pre>
          <h3>New answer {done && <span className="muted">({done.model}, {done.tokens} tokens)</span>}</h3>
          <pre className="text" data-testid="pg-answer">{current || (running ? "…" : "—")}</pre>
          {done && source && (
            <>
              <h3>Diff (recorded → new)</h3>
              <pre className="text pg-diff" data-testid="pg-diff">
                {changes.map((part, i) => (
                  <span key={i} className={part.added ? "diff-added" : part.removed ? "diff-removed" : undefined}>
                    {part.value}
                  </span>
                ))}
              </pre>
            </>
          )}
          {done?.trace_id && (
            <p>
              Saved as{" "}
              <Link to={`/traces/${done.trace_id}`} data-testid="pg-trace-link">
                trace {done.trace_id}
              </Link>{" "}
              (tagged playground)
            </p>
          )}
        </div>
      </div>
    </div>
  );
}
