// Markdown as the detail pane and the transcript show it: GitHub-flavoured (tables, task
// lists, strikethrough) via remark-gfm; raw HTML is never rendered (skipHtml); images
// are links, never fetched.
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";

const PLUGINS = [remarkGfm];

// A Markdown image in trace content is shown as a link, never fetched: a remote image
// would tell its server who reads the trace, and a same-origin one would call our own API.
function ImageLink({ src, alt }: { src?: string; alt?: string }) {
  const label = `[image: ${alt || "untitled"}]`;
  if (!src || !/^https?:/i.test(src)) return <span className="md-image">{label}</span>;
  return (
    <a className="md-image" href={src} target="_blank" rel="noreferrer noopener">
      {label}
    </a>
  );
}
const COMPONENTS = { img: ImageLink };
const MARKUP = /[*_`#|[\]<>~\\]|^\s*(?:[-+]|\d+[.)])\s|^\s*(?:={3,}|-{3,})\s*$|https?:\/\/|www\./m;

/** Whether `text` holds anything Markdown would render differently from plain text. */
export function hasMarkup(text: string): boolean {
  return MARKUP.test(text);
}

export function MarkdownText({ text, testId }: { text: string; testId?: string }) {
  // Plain text skips the Markdown parser: a 2,000-record transcript stays fast.
  if (!hasMarkup(text)) {
    return (
      <div className="markdown plain" data-testid={testId}>
        <p>{text}</p>
      </div>
    );
  }
  return (
    <div className="markdown" data-testid={testId}>
      <Markdown skipHtml remarkPlugins={PLUGINS} components={COMPONENTS}>
        {text}
      </Markdown>
    </div>
  );
}
