// The page for an address that names nothing: says so, and offers a way back.
import { Link, useNavigate } from "react-router";

export function NotFound({ what, id }: { what: string; id?: string }) {
  const navigate = useNavigate();
  const back = what === "session" ? "/sessions" : "/";
  return (
    <div className="page not-found" data-testid="not-found" role="alert">
      <h2>No such {what}</h2>
      <p>
        {id ? (
          <>
            There is no {what} <span className="mono">{id}</span> in this viewer's storage.
          </>
        ) : (
          <>Nothing lives at this address.</>
        )}{" "}
        It may have been deleted by retention, or the link may come from another database.
      </p>
      <p className="not-found-actions">
        <Link to={back}>← Back to {what === "session" ? "sessions" : "traces"}</Link>
        {window.history.length > 1 && (
          <button type="button" className="link" onClick={() => navigate(-1)}>
            Go back
          </button>
        )}
      </p>
    </div>
  );
}
