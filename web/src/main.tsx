import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import App from "./App";
import { prefetch } from "./api";
import { firstRequests } from "./pages/TraceList";
import "react-json-view-lite/dist/index.css";
import "./styles.css";

// The first page's data is requested while React boots (and the page's code loads),
// not after.
const opened = /^\/traces\/([^/]+)$/.exec(window.location.pathname);
if (opened) {
  prefetch(`/api/traces/${encodeURIComponent(decodeURIComponent(opened[1]))}`);
  void import("./pages/TraceDetail");
} else if (window.location.pathname === "/") {
  const saved = sessionStorage.getItem(`myagent.list.${(window.history.state as { key?: string } | null)?.key ?? "default"}`);
  if (!saved) firstRequests(new URLSearchParams(window.location.search)).forEach(prefetch);
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <App />
    </BrowserRouter>
  </StrictMode>,
);
