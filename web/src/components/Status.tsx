export function StatusBadge({ status, errors }: { status: string; errors?: number }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {status}
      {errors ? <span className="err-count"> · {errors} err</span> : null}
    </span>
  );
}
