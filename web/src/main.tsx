import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import App from "./App";
import { prefetch } from "./api";
import { firstRequests } from "./pages/TraceList";
import "react-json-view-lite/dist/index.css";
import "./styles.css";

// The list page's data is requested while React boots, not after.
if (window.location.pathname === "/") {
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
