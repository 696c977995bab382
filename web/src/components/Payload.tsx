// Showing trace content safely: everything is text (React escapes it); JSON as a
// collapsible tree; Markdown sanitized; big values as a preview plus "load full" into
// CodeMirror; data-URI images as images.
import { lazy, Suspense, useMemo, useState } from "react";
import { JsonView, allExpanded, collapseAllNested, defaultStyles } from "react-json-view-lite";
import { getText } from "../api";
import { CopyButton } from "./Copy";
import { MarkdownText } from "./Markdown";
import { fmtSize } from "../format";
import type { LargeValue } from "../types";

const DATA_IMAGE = /data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]{16,}/g;

export function isLarge(value: unknown): value is LargeValue {
  return typeof value === "object" && value !== null && (value as LargeValue).$large === true;
}

function imagesIn(value: unknown, found: string[] = [], depth = 0): string[] {
  if (found.length >= 8 || depth > 20) return found;
  if (typeof value === "string") {
    for (const m of value.matchAll(DATA_IMAGE)) if (found.length < 8) found.push(m[0]);
  } else if (Array.isArray(value)) value.forEach((v) => imagesIn(v, found, depth + 1));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => imagesIn(v, found, depth + 1));
  return found;
}

export function Images({ value }: { value: unknown }) {
  const images = useMemo(() => imagesIn(value), [value]);
  if (!images.length) return null;
  return (
    <div className="images">
      {images.map((src, i) => (
        <img key={i} src={src} alt={`image ${i + 1} from the payload`} />
      ))}
    </div>
  );
}

const BigTextEditor = lazy(() => import("./BigText"));

export function BigText({ text }: { text: string }) {
  return (
    <Suspense fallback={<pre className="text">{text.slice(0, 4000)}</pre>}>
      <BigTextEditor text={text} />
    </Suspense>
  );
}

function LargePayload({ value }: { value: LargeValue }) {
  const [full, setFull] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  return (
    <div className="large" data-testid="large-payload">
      <p className="note">
        Large value: {fmtSize(value.size)}. {value.note}.{" "}
        <button
          disabled={loading || full !== null}
          onClick={async () => {
            setLoading(true);
            try {
              setFull(await getText(value.download));
            } finally {
              setLoading(false);
            }
          }}
        >
          {loading ? "Loading…" : "Load full value"}
        </button>{" "}
        <a href={`${value.download}?download=true`}>Download</a>
      </p>
      {full === null ? <pre className="text">{value.preview}</pre> : <BigText text={full} />}
    </div>
  );
}

export function Value({ value, collapsed = false }: { value: unknown; collapsed?: boolean }) {
  if (isLarge(value)) return <LargePayload value={value} />;
  if (value === null || value === undefined) return <span className="muted">none</span>;
  if (typeof value === "string") {
    return (
      <>
        {value.length > 20000 ? <BigText text={value} /> : <pre className="text">{value}</pre>}
        <Images value={value} />
      </>
    );
  }
  if (typeof value !== "object") return <pre className="text">{String(value)}</pre>;
  return (
    <>
      <div className="json">
        <CopyButton value={value} what="JSON value" label="Copy JSON" />
        <JsonView
          data={value as object}
          shouldExpandNode={collapsed ? collapseAllNested : allExpanded}
          style={{ ...defaultStyles, container: "json-container" }}
        />
      </div>
      <Images value={value} />
    </>
  );
}

export function MarkdownOrRaw({ value }: { value: unknown }) {
  const [raw, setRaw] = useState(false);
  if (typeof value !== "string") return <Value value={value} />;
  return (
    <div className="md-or-raw">
      <div className="toggle">
        <button className={raw ? "" : "on"} onClick={() => setRaw(false)}>
          Markdown
        </button>
        <button className={raw ? "on" : ""} onClick={() => setRaw(true)}>
          Raw
        </button>
      </div>
      {raw ? (
        <pre className="text">{value}</pre>
      ) : (
        <MarkdownText text={value} testId="markdown" />
      )}
      <Images value={value} />
    </div>
  );
}

export function Section({
  title,
  children,
  open = true,
  copy,
}: {
  title: string;
  children: React.ReactNode;
  open?: boolean;
  /** A value the section's copy button puts on the clipboard. */
  copy?: unknown;
}) {
  return (
    <details className="section" open={open}>
      <summary>
        {title}
        {copy !== undefined && copy !== null && <CopyButton value={isLarge(copy) ? copy.preview : copy} what={title.toLowerCase()} />}
      </summary>
      <div className="section-body">{children}</div>
    </details>
  );
}
