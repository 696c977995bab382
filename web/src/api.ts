// The one place the UI talks to the server: same-origin fetches, the token cookie
// rides along; a 401 sends the user to the sign-in form.

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorized = new Set<Listener>();

export function onUnauthorized(listener: Listener): () => void {
  unauthorized.add(listener);
  return () => unauthorized.delete(listener);
}

// Every request says it comes from this UI: the server refuses state-changing requests
// without this header, which a page of another origin cannot send (no CORS is granted).
const REQUEST_HEADER = { "x-myagent-request": "1" };

const early = new Map<string, Promise<Response>>();

/** Start a GET before the page that needs it has rendered (the first page's data while
 * React boots); the page's own `getJson` of the same path takes the response, once. */
export function prefetch(path: string): void {
  const pending = fetch(path, { credentials: "same-origin", headers: REQUEST_HEADER });
  pending.catch(() => undefined);
  early.set(path, pending);
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  const pending = !init?.method ? early.get(path) : undefined;
  if (pending) early.delete(path);
  const headers = { ...REQUEST_HEADER, ...(init?.headers as Record<string, string> | undefined) };
  const response = await (pending ?? fetch(path, { credentials: "same-origin", ...init, headers }));  if (response.status === 401) {
    unauthorized.forEach((l) => l());
    throw new ApiError(401, "a viewer token is required");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : validationMessage(body.detail);
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

/** FastAPI's validation errors as one readable line: "min_tokens: not a whole number". */
export function validationMessage(detail: unknown): string {
  if (!Array.isArray(detail)) return JSON.stringify(detail);
  return detail
    .map((d: { loc?: unknown[]; msg?: string }) => {
      const where = (d.loc ?? []).filter((p) => p !== "query" && p !== "body" && p !== "path").join(".");
      return `${where ? `${where}: ` : ""}${(d.msg ?? "invalid value").replace(/^Input should be/, "should be")}`;
    })
    .join("; ");
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await request(path, { signal })).json() as Promise<T>;
}

export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  return (await request(path, { signal })).text();
}

export async function postJson<T>(path: string, body: unknown): Promise<T | null> {
  return sendJson<T>("POST", path, body);
}

/** A state-changing JSON request (`request` adds the header every write carries). */
export async function sendJson<T>(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T | null> {
  const response = await request(path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status === 204 ? null : ((await response.json()) as T);
}

export async function postFile<T>(path: string, file: File): Promise<T> {
  const response = await request(path, {
    method: "POST",
    headers: { "content-type": file.name.endsWith(".jsonl") ? "application/x-ndjson" : "application/json" },
    body: file,
  });
  return (await response.json()) as T;
}

export function query(params: Record<string, string | string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) if (v !== "") search.append(key, v);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// A POST whose answer is a server-sent event stream (the playground's run): each
// `event:`/`data:` block is handed to `onEvent` as it arrives.
export async function postEventStream(
  path: string,
  body: unknown,
  onEvent: (kind: string, data: unknown) => void,
): Promise<void> {
  const response = await request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(kind, JSON.parse(data.join("\n")));
    }
  }
}
