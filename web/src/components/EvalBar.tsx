// The trace view's evaluation strip: score the trace (or its selected record), add it to
// a dataset.
import { AddToDataset } from "./AddToDataset";
import { ScorePanel } from "./ScorePanel";

export function EvalBar({ traceId, recordId }: { traceId: string; recordId: string | null }) {
  return (
    <div className="eval-bar">
      <ScorePanel traceId={traceId} recordId={recordId} />
      <AddToDataset traceIds={[traceId]} />
    </div>
  );
}
