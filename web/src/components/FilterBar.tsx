// The trace list's filters: one search bar, quick time ranges, and "add filter" chips.
// Agent, model, tool and tag are comboboxes fed by /api/facets (values with trace
// counts; prefix and contains matching; several values at once). Every change lands
// in the address bar at once: no Apply button.
import { useEffect, useRef, useState } from "react";
import { getJson, query } from "../api";

export const LIST_FIELDS = ["agent", "model", "tool", "tag", "status", "session"] as const;
type FacetField = "agent" | "model" | "tool" | "tag";
const FACETS: [FacetField, string][] = [
  ["agent", "Agent"],
  ["model", "Model"],
  ["tool", "Tool"],
  ["tag", "Tag"],
];
const RANGES: [string, string][] = [
  ["", "Any time"],
  ["15m", "15 min"],
  ["1h", "1 h"],
  ["24h", "24 h"],
  ["7d", "7 d"],
  ["custom", "Custom"],
];
const RANGE_SECONDS: Record<string, number> = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400 };
/** Numeric filters: URL key, chip label, unit. */
const NUMBERS: [string, string, string][] = [
  ["min_duration", "Duration ≥", "s"],
  ["max_duration", "Duration ≤", "s"],
  ["min_tokens", "Tokens ≥", ""],
  ["max_tokens", "Tokens ≤", ""],
  ["min_cost", "Cost ≥", "$"],
];

/** The start of a quick range (`15m`, `1h`, ...) as an ISO time, or null. */
export function rangeStart(range: string | null, now = Date.now()): string | null {
  const seconds = range ? RANGE_SECONDS[range] : undefined;
  return seconds ? new Date(now - seconds * 1000).toISOString() : null;
}

/** Free-text filters: metadata conditions, and score conditions (`;`-separated). */
const TEXT_FIELDS: [string, string, string][] = [
  ["meta", "Metadata", "key=value  key:=json"],
  ["score", "Score", "score.helpfulness >= 0.8; has score x"],
];

export function splitList(value: string | null): string[] {
  return (value ?? "").split(",").map((v) => v.trim()).filter(Boolean);
}

interface FacetValue {
  value: string;
  count: number;
}

/** Values of one facet matching the typed text, with counts; click toggles a value. */
export function FacetPicker({
  field,
  label,
  chosen,
  onChange,
  onClose,
}: {
  field: FacetField;
  label: string;
  chosen: string[];
  onChange: (values: string[]) => void;
  onClose: () => void;
}) {
  const [text, setText] = useState("");
  const [values, setValues] = useState<FacetValue[] | null>(null);
  const [active, setActive] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    const timer = window.setTimeout(() => {
      getJson<{ values: FacetValue[] }>(`/api/facets/${field}${query({ q: text, limit: "50" })}`, abort.signal)
        .then((r) => {
          setValues(r.values);
          setActive(0);
        })
        .catch(() => undefined);
    }, 80);
    return () => {
      window.clearTimeout(timer);
      abort.abort();
    };
  }, [field, text]);
  useEffect(() => {
    const outside = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [onClose]);
  const toggle = (value: string) =>
    onChange(chosen.includes(value) ? chosen.filter((v) => v !== value) : [...chosen, value]);
  const shown = values ?? [];
  return (
    <div className="picker" ref={box} role="dialog" aria-label={`${label} filter`}>
      <input
        autoFocus
        role="combobox"
        aria-expanded="true"
        aria-controls={`facet-${field}`}
        aria-label={`${label} values`}
        placeholder={`Type to find a ${label.toLowerCase()}…`}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, shown.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (e.key === "Enter") {
            e.preventDefault();
            if (shown[active]) toggle(shown[active].value);
            else if (text.trim()) toggle(text.trim());
          } else if (e.key === "Escape") onClose();
          else return;
          e.stopPropagation();
        }}
      />
      <ul className="options" role="listbox" id={`facet-${field}`} aria-multiselectable="true">
        {shown.map((v, i) => (
          <li
            key={v.value}
            role="option"
            aria-selected={chosen.includes(v.value)}
            className={i === active ? "active" : ""}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => toggle(v.value)}
          >
            <input type="checkbox" readOnly checked={chosen.includes(v.value)} tabIndex={-1} aria-hidden="true" />
            <span className="opt-value">{v.value}</span>
            <span className="opt-count">{v.count.toLocaleString()}</span>
          </li>
        ))}
        {values && shown.length === 0 && <li className="muted none">No {label.toLowerCase()} matches “{text}”.</li>}
      </ul>
    </div>
  );
}

function NumberEditor({
  name,
  label,
  value,
  onApply,
  onClose,
}: {
  name: string;
  label: string;
  value: string;
  onApply: (value: string) => void;
  onClose: () => void;
}) {
  const [text, setText] = useState(value);
  return (
    <form
      className="picker"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(text.trim());
        onClose();
      }}
    >
      <label>
        {label}{" "}
        <input
          autoFocus
          type="number"
          min="0"
          step="any"
          aria-label={label}
          name={name}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && onClose()}
        />
      </label>{" "}
      <button type="submit">Set</button>
    </form>
  );
}

/** The whole bar over URL parameters `params`; `update` applies changed keys (empty: removed). */
export function FilterBar({
  params,
  update,
  searchBox,
}: {
  params: URLSearchParams;
  update: (changes: Record<string, string | null>) => void;
  searchBox: React.RefObject<HTMLInputElement | null>;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const [menu, setMenu] = useState(false);
  const [search, setSearch] = useState(params.get("q") ?? "");
  useEffect(() => setSearch(params.get("q") ?? ""), [params]);
  const range = params.get("range") ?? (params.get("start") || params.get("end") ? "custom" : "");
  const chips: { key: string; label: string; text: string }[] = [];
  for (const [key, label] of FACETS) {
    const values = splitList(params.get(key));
    if (values.length) chips.push({ key, label, text: values.join(" or ") });
  }
  for (const [key, label, unit] of NUMBERS) {
    const v = params.get(key);
    if (v) chips.push({ key, label, text: unit === "$" ? `$${v}` : `${v}${unit ? ` ${unit}` : ""}` });
  }
  for (const [key, label] of TEXT_FIELDS) {
    if (params.get(key)) chips.push({ key, label, text: params.get(key)! });
  }
  if (params.get("session")) chips.push({ key: "session", label: "Session", text: params.get("session")! });
  const close = () => setOpen(null);

  const editor = (key: string) => {
    const facet = FACETS.find(([k]) => k === key);
    if (facet) {
      return (
        <FacetPicker
          field={facet[0]}
          label={facet[1]}
          chosen={splitList(params.get(key))}
          onChange={(values) => update({ [key]: values.join(",") || null })}
          onClose={close}
        />
      );
    }
    const number = NUMBERS.find(([k]) => k === key);
    if (number) {
      return <NumberEditor name={key} label={number[1]} value={params.get(key) ?? ""} onApply={(v) => update({ [key]: v || null })} onClose={close} />;
    }
    const text = TEXT_FIELDS.find(([k]) => k === key);
    if (text) {
      const [name, label, hint] = text;
      return (
        <form
          className="picker"
          onSubmit={(e) => {
            e.preventDefault();
            update({ [name]: String(new FormData(e.currentTarget).get(name) ?? "").trim() || null });
            close();
          }}
        >
          <input autoFocus name={name} aria-label={label} placeholder={hint} defaultValue={params.get(name) ?? ""} />{" "}
          <button type="submit">Set</button>
        </form>
      );
    }
    return null;
  };

  return (
    <div className="filterbar" data-testid="filter-bar">
      <form
        className="searchrow"
        onSubmit={(e) => {
          e.preventDefault();
          update({ q: search.trim() || null });
        }}
      >
        <input
          ref={searchBox}
          className="search"
          type="search"
          placeholder="Search inputs, outputs, errors  ( / )"
          aria-label="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <select value={params.get("status") ?? ""} onChange={(e) => update({ status: e.target.value || null })} aria-label="status">
          <option value="">any status</option>
          <option value="running">running</option>
          <option value="success">success</option>
          <option value="error">error</option>
          <option value="cancelled">cancelled</option>
        </select>
        <select value={params.get("has_errors") ?? ""} onChange={(e) => update({ has_errors: e.target.value || null })} aria-label="errors">
          <option value="">errors or not</option>
          <option value="true">with errors</option>
          <option value="false">without errors</option>
        </select>
        <div className="ranges" role="group" aria-label="time range">
          {RANGES.map(([key, label]) => (
            <button
              type="button"
              key={key || "any"}
              className={range === key ? "on" : ""}
              aria-pressed={range === key}
              onClick={() =>
                update(
                  key === "custom"
                    ? { range: null, start: params.get("start") || localInput(Date.now() - 3600_000), end: params.get("end") }
                    : { range: key || null, start: null, end: null },
                )
              }
            >
              {label}
            </button>
          ))}
        </div>
      </form>
      {range === "custom" && (
        <div className="custom-range">
          <label>
            From{" "}
            <input type="datetime-local" step="60" aria-label="from" value={params.get("start") ?? ""} onChange={(e) => update({ start: e.target.value || null })} />
          </label>
          <label>
            To{" "}
            <input type="datetime-local" step="60" aria-label="to" value={params.get("end") ?? ""} onChange={(e) => update({ end: e.target.value || null })} />
          </label>
        </div>
      )}
      <div className="chips">
        {chips.map((chip) => (
          <span className="chip-wrap" key={chip.key}>
            <span className="chip" data-filter={chip.key}>
              <button type="button" className="chip-body" onClick={() => setOpen(open === chip.key ? null : chip.key)}>
                <span className="muted">{chip.label}:</span> {chip.text}
              </button>
              <button type="button" className="chip-x" aria-label={`remove ${chip.label} filter`} onClick={() => update({ [chip.key]: null })}>
                ×
              </button>
            </span>
            {open === chip.key && editor(chip.key)}
          </span>
        ))}
        <span className="chip-wrap">
          <button type="button" className="add-filter" aria-haspopup="menu" onClick={() => setMenu((m) => !m)}>
            + Add filter
          </button>
          {menu && (
            <div className="menu" role="menu" onMouseLeave={() => setMenu(false)}>
              {[...FACETS, ...NUMBERS.map(([k, l]) => [k, l] as [string, string]), ...TEXT_FIELDS.map(([k, l]) => [k, l] as [string, string])].map(([key, label]) => (
                <button
                  type="button"
                  role="menuitem"
                  key={key}
                  onClick={() => {
                    setMenu(false);
                    setOpen(key);
                  }}
                >
                  {label}
                </button>
              ))}
            </div>
          )}
          {open && !chips.some((c) => c.key === open) && editor(open)}
        </span>
        {(chips.length > 0 || params.get("q") || params.get("status") || params.get("has_errors") || range) && (
          <button
            type="button"
            className="link"
            onClick={() => update(Object.fromEntries([...params.keys()].filter((k) => k !== "order").map((k) => [k, null])))}
          >
            Clear all
          </button>
        )}
      </div>
    </div>
  );
}

/** A time as a datetime-local input's value (local time, minutes). */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
