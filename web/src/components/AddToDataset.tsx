// "Add to dataset": copy traces (input, and output as the expected output unless edited)
// into a dataset, from the trace view or from a selection of the list.
import { useEffect, useState } from "react";
import { getJson, sendJson } from "../api";
import "../eval.css";

export function AddToDataset({ traceIds, label = "Add to dataset" }: { traceIds: string[]; label?: string }) {
  const [open, setOpen] = useState(false);
  const [names, setNames] = useState<string[]>([]);
  const [dataset, setDataset] = useState("");
  const [expected, setExpected] = useState("");
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    getJson<{ items: { name: string }[] }>("/api/datasets")
      .then((r) => setNames(r.items.map((d) => d.name)))
      .catch(() => setNames([]));
  }, [open]);

  if (!traceIds.length) return null;
  return (
    <span className="add-to-dataset">
      <button onClick={() => setOpen((o) => !o)} aria-expanded={open}>
        {label}
        {traceIds.length > 1 ? ` (${traceIds.length})` : ""}
      </button>
      {open && (
        <form
          className="dataset-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const name = dataset.trim();
            if (!name) return;
            try {
              const body: Record<string, unknown> = { trace_ids: traceIds };
              if (expected.trim()) body.expected_output = expected.trim();
              const r = await sendJson<{ items: unknown[] }>("POST", `/api/datasets/${encodeURIComponent(name)}/items`, body);
              setNotice(`Added ${r?.items.length ?? 0} to ${name}`);
              setOpen(false);
            } catch (err) {
              setNotice(`Not added: ${(err as Error).message}`);
            }
          }}
        >
          <input
            list="dataset-names"
            aria-label="dataset name"
            placeholder="dataset name"
            value={dataset}
            onChange={(e) => setDataset(e.target.value)}
            autoFocus
          />
          <datalist id="dataset-names">
            {names.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
          <input
            aria-label="expected output"
            placeholder="expected output (default: the trace's output)"
            value={expected}
            onChange={(e) => setExpected(e.target.value)}
          />
          <button type="submit">Add</button>
        </form>
      )}
      {notice && <span className="muted"> {notice}</span>}
    </span>
  );
}
