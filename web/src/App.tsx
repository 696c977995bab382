import { lazy, Suspense, useEffect, useState } from "react";
import { NavLink, Route, Routes } from "react-router";
import { ApiError, onUnauthorized, postJson } from "./api";
import TraceList from "./pages/TraceList";
import TraceDetailPage from "./pages/TraceDetail";
import ErrorsPage from "./pages/Errors";
import SessionsPage from "./pages/Sessions";
import HealthPage from "./pages/Health";
import { HealthBadge } from "./components/HealthBadge";

const ComparePage = lazy(() => import("./pages/Compare"));
const Dashboard = lazy(() => import("./pages/Dashboard"));

const SHORTCUTS: [string, string][] = [
  ["j / k", "next / previous trace (list) or record (trace)"],
  ["Enter", "open the selected trace"],
  ["/", "search"],
  ["e", "next error in the trace"],
  ["n / N", "next / previous match of find-in-trace"],
  ["x", "mark the selected trace for comparison (list)"],
  ["?", "this help"],
  ["Esc", "close help, leave a field"],
];

function SignIn({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="signin">
      <h2>Viewer token required</h2>
      <p>This trace viewer is protected. Enter the token it was started with (TRACE_VIEWER_TOKEN).</p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await postJson("/api/auth", { token });
            onDone();
          } catch (err) {
            // 429: too many wrong tokens from this browser; the server says how long to wait
            const throttled = err instanceof ApiError && err.status === 429;
            setError(throttled ? `Too many wrong tokens: ${err.message}.` : "That token was not accepted.");
          }
        }}
      >
        <input
          type="password"
          aria-label="token"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
        <button type="submit">Sign in</button>
      </form>
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}

export default function App() {
  const [needToken, setNeedToken] = useState(false);
  const [help, setHelp] = useState(false);
  const [epoch, setEpoch] = useState(0);

  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, .cm-editor")) {
        if (e.key === "Escape") target.blur();
        return;
      }
      if (e.key === "?") setHelp((h) => !h);
      if (e.key === "Escape") setHelp(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">myagent traces</span>
        <nav>
          <NavLink to="/" end>
            Traces
          </NavLink>
          <NavLink to="/dashboard">Dashboard</NavLink>
          <NavLink to="/errors">Errors</NavLink>
          <NavLink to="/sessions">Sessions</NavLink>
          <NavLink to="/compare">Compare</NavLink>
        </nav>
        <HealthBadge />
        <button className="link" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
          ?
        </button>
      </header>
      <main key={epoch}>
        {needToken ? (
          <SignIn
            onDone={() => {
              setNeedToken(false);
              setEpoch((n) => n + 1);
            }}
          />
        ) : (
          <Suspense fallback={<p className="page muted">Loading…</p>}>
          <Routes>
            <Route path="/" element={<TraceList />} />
            <Route path="/traces/:traceId" element={<TraceDetailPage />} />
            <Route path="/compare" element={<ComparePage />} />
            <Route path="/dashboard" element={<Dashboard />} />
            <Route path="/errors" element={<ErrorsPage />} />
            <Route path="/sessions" element={<SessionsPage />} />
            <Route path="/sessions/:sessionId" element={<SessionsPage />} />
            <Route path="/health" element={<HealthPage />} />
            <Route path="*" element={<p className="empty">No such page.</p>} />
          </Routes>
          </Suspense>
        )}
      </main>
      {help && (
        <div className="modal" role="dialog" aria-label="Keyboard shortcuts" onClick={() => setHelp(false)}>
          <div className="modal-body" onClick={(e) => e.stopPropagation()}>
            <h3>Keyboard shortcuts</h3>
            <table>
              <tbody>
                {SHORTCUTS.map(([key, what]) => (
                  <tr key={key}>
                    <td>
                      <kbd>{key}</kbd>
                    </td>
                    <td>{what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}
