// Markdown as the detail pane and the transcript show it: GitHub-flavoured (tables, task
// lists, strikethrough) via remark-gfm; raw HTML is never rendered (skipHtml).
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";

const PLUGINS = [remarkGfm];

export function MarkdownText({ text, testId }: { text: string; testId?: string }) {
  return (
    <div className="markdown" data-testid={testId}>
      <Markdown skipHtml remarkPlugins={PLUGINS}>
        {text}
      </Markdown>
    </div>
  );
}
