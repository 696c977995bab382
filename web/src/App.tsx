import { lazy, Suspense, useEffect, useState } from "react";
import { NavLink, Route, Routes, useLocation } from "react-router";
import { ApiError, onUnauthorized, postJson } from "./api";
import TraceList from "./pages/TraceList";
import { HealthBadge } from "./components/HealthBadge";
import { SCORE_SHORTCUTS } from "./components/ScorePanel";
import { NotFound } from "./components/NotFound";

// Every page but the list is its own chunk, loaded when first opened: the list page
// never downloads ECharts, CodeMirror or the Markdown renderer.
const TraceDetailPage = lazy(() => import("./pages/TraceDetail"));
const ErrorsPage = lazy(() => import("./pages/Errors"));
const SessionsPage = lazy(() => import("./pages/Sessions"));
const HealthPage = lazy(() => import("./pages/Health"));
const ComparePage = lazy(() => import("./pages/Compare"));
const Dashboard = lazy(() => import("./pages/Dashboard"));
const AnnotationQueue = lazy(() => import("./pages/AnnotationQueue"));
const ExperimentsPage = lazy(() => import("./pages/Experiments"));
const DatasetsPage = lazy(() => import("./pages/Datasets"));
const PlaygroundPage = lazy(() => import("./pages/Playground"));

const SHORTCUTS: [string, string][] = [
  ["j / k", "next / previous trace (list) or record (trace)"],
  ["Enter", "open the selected trace"],
  ["/", "search"],
  ["e", "next error in the trace"],
  ["n / N", "next / previous match of find-in-trace"],
  ["x", "mark the selected trace for comparison (list)"],
  ...SCORE_SHORTCUTS,
  ["] / [", "next / previous trace in the annotation queue; s skips"],
  ["Enter (in find)", "first match, then the next; the count shows “k of n”"],
  ["z", "zoom the waterfall to the selected record (again: whole trace)"],
  ["← / →", "collapse / expand the selected record's subtree"],
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
  const [menu, setMenu] = useState(false);
  const location = useLocation();
  useEffect(() => setMenu(false), [location.pathname]);

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
      <header className={`topbar ${menu ? "menu-open" : ""}`}>
        <span className="brand">myagent traces</span>
        <button
          type="button"
          className="menu-button"
          aria-label="menu"
          aria-expanded={menu}
          onClick={() => setMenu((m) => !m)}
        >
          ☰
        </button>
        <nav>
          <NavLink to="/" end>
            Traces
          </NavLink>
          <NavLink to="/dashboard">Dashboard</NavLink>
          <NavLink to="/errors">Errors</NavLink>
          <NavLink to="/sessions">Sessions</NavLink>
          <NavLink to="/compare">Compare</NavLink>
          <NavLink to="/queue">Annotate</NavLink>
          <NavLink to="/datasets">Datasets</NavLink>
          <NavLink to="/experiments">Experiments</NavLink>
          <NavLink to="/playground">Playground</NavLink>
          <NavLink to="/health">Health</NavLink>
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
            <Route path="/playground" element={<PlaygroundPage />} />
            <Route path="/dashboard" element={<Dashboard />} />
            <Route path="/errors" element={<ErrorsPage />} />
            <Route path="/sessions" element={<SessionsPage />} />
            <Route path="/sessions/:sessionId" element={<SessionsPage />} />
            <Route path="/health" element={<HealthPage />} />
            <Route path="/queue" element={<AnnotationQueue />} />
            <Route path="/datasets" element={<DatasetsPage />} />
            <Route path="/experiments" element={<ExperimentsPage />} />
            <Route path="/experiments/compare" element={<ExperimentsPage />} />
            <Route path="*" element={<NotFound what="page" />} />
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
