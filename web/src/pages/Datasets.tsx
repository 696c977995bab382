// Datasets: their items (input, expected output, source trace), editable; every edit is a
// new version and the history stays.
import { useCallback, useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { getJson, query, sendJson } from "../api";
import { fmtTime } from "../format";
import type { DatasetItem } from "../evalTypes";
import "../eval.css";

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function ItemRow({ item, onChanged }: { item: DatasetItem; onChanged: () => void }) {
  const [expected, setExpected] = useState(text(item.expected_output));
  const [history, setHistory] = useState<DatasetItem[] | null>(null);
  const base = `/api/datasets/${encodeURIComponent(item.dataset)}/items/${encodeURIComponent(item.item_id)}`;
  return (
    <tr data-item-id={item.item_id}>
      <td className="preview">{text(item.input)}</td>
      <td className="items-edit">
        <textarea aria-label="expected output" value={expected} onChange={(e) => setExpected(e.target.value)} />
        {expected !== text(item.expected_output) && (
          <button onClick={async () => (await sendJson("PUT", base, { expected_output: expected }), onChanged())}>Save</button>
        )}
      </td>
      <td>
        v{item.version}{" "}
        <button className="link" onClick={async () => setHistory((await getJson<{ items: DatasetItem[] }>(`${base}/history`)).items)}>
          history
        </button>
        {history && (
          <ul>
            {history.map((h) => (
              <li key={h.version}>
                v{h.version} {fmtTime(h.created_us)}: {h.deleted ? "deleted" : text(h.expected_output)}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{item.source_trace_id ? <Link to={`/traces/${item.source_trace_id}`}>trace</Link> : "–"}</td>
      <td>
        <button className="link" onClick={async () => (await sendJson("DELETE", base), onChanged())}>
          delete
        </button>
      </td>
    </tr>
  );
}

export default function DatasetsPage() {
  const [params, setParams] = useSearchParams();
  const name = params.get("name");
  const [datasets, setDatasets] = useState<{ name: string; items: number; versions: number }[]>([]);
  const [items, setItems] = useState<DatasetItem[]>([]);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    getJson<{ items: typeof datasets }>("/api/datasets").then((r) => setDatasets(r.items)).catch(() => setDatasets([]));
  }, [reload]);
  const load = useCallback(() => {
    if (!name) return;
    getJson<{ items: DatasetItem[] }>(`/api/datasets/${encodeURIComponent(name)}/items`)
      .then((r) => setItems(r.items))
      .catch(() => setItems([]));
  }, [name]);
  useEffect(load, [load, reload]);

  return (
    <div className="page">
      <h2>Datasets</h2>
      <p className="muted">
        Add traces with "Add to dataset" on a trace or on the list's marked traces, or import a file:{" "}
        <code>myagent dataset import items.jsonl --name NAME</code>.
      </p>
      <div className="queue-saved">
        {datasets.map((d) => (
          <button key={d.name} className={d.name === name ? "selected" : ""} onClick={() => setParams(query({ name: d.name }).slice(1))}>
            {d.name} ({d.items})
          </button>
        ))}
      </div>
      {name && (
        <table className="eval-table" data-testid="dataset-items">
          <thead>
            <tr>
              <th>Input</th>
              <th>Expected output</th>
              <th>Version</th>
              <th>Source</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <ItemRow key={`${item.item_id}-${item.version}`} item={item} onChanged={() => setReload((n) => n + 1)} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
