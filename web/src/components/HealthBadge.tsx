// Always in the top bar: traces dropped by tracing's writers (all processes), a
// warning when any were; links to the Health page.
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { getJson } from "../api";
import type { WritersReport } from "../types";

const POLL_MS = 5000;

export function dropReasons(dropped: Record<string, number>): string {
  const parts = Object.entries(dropped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason}: ${n}`);
  return parts.length ? parts.join(", ") : "none";
}

export function HealthBadge() {
  const [report, setReport] = useState<WritersReport | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      getJson<WritersReport>("/api/writers")
        .then((r) => !stopped && setReport(r))
        .catch(() => undefined); // a 401 already shows the sign-in form
    load();
    const timer = window.setInterval(load, POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, []);
  if (!report) return null;
  const { dropped_total, dropped, writers } = report.totals;
  const warn = dropped_total > 0;
  return (
    <Link
      to="/health"
      className={`health-badge ${warn ? "warn" : "ok"}`}
      data-testid="health-badge"
      title={`${writers} writer(s); dropped traces by reason: ${dropReasons(dropped)}`}
    >
      {warn ? `⚠ ${dropped_total} dropped` : "✓ none dropped"}
    </Link>
  );
}
