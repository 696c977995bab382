// Markdown as the detail pane and the transcript show it: GitHub-flavoured (tables, task
// lists, strikethrough) via remark-gfm; raw HTML is never rendered (skipHtml).
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";

const PLUGINS = [remarkGfm];
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
      <Markdown skipHtml remarkPlugins={PLUGINS}>
        {text}
      </Markdown>
    </div>
  );
}
