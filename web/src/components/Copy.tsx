// A small "copy" button: ids, prompts, responses, tool arguments and outputs, JSON values
// and the trace URL go to the clipboard in one click.
import { useState } from "react";

/** Text for the clipboard: strings as they are, anything else as indented JSON. */
export function copyText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure origin): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export function CopyButton({ value, label = "Copy", what }: { value: unknown; label?: string; what?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="copy"
      aria-label={what ? `copy ${what}` : "copy"}
      title={what ? `Copy ${what}` : "Copy"}
      onClick={async (e) => {
        e.stopPropagation();
        e.preventDefault();
        await writeClipboard(copyText(value));
        setDone(true);
        window.setTimeout(() => setDone(false), 1200);
      }}
    >
      {done ? "Copied ✓" : label}
    </button>
  );
}
