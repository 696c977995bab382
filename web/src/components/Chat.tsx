// An LLM call's messages as a chat: who said it (system, user, assistant, tool), what
// (Markdown), the tool calls an assistant made and the tool results that answered them.
import { isLarge, Value } from "./Payload";
import { CopyButton } from "./Copy";
import { MarkdownText } from "./Markdown";

interface ToolCall {
  id?: string | null;
  name?: string | null;
  arguments?: unknown;
  function?: { name?: string; arguments?: unknown };
}

interface Message {
  role?: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: ToolCall[];
}

/** The text parts of a message's content (a string, or OpenAI's list of parts). */
export function contentText(content: unknown): string | null {
  if (content === null || content === undefined) return null;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const texts = content.map((part) =>
      typeof part === "string" ? part : part && typeof part === "object" && "text" in part ? String((part as { text: unknown }).text) : null,
    );
    if (texts.every((t) => t !== null)) return texts.join("\n");
  }
  return null;
}

function argumentsValue(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function ToolCallView({ call }: { call: ToolCall }) {
  const name = call.name ?? call.function?.name ?? "?";
  const args = argumentsValue(call.arguments ?? call.function?.arguments);
  return (
    <div className="chat-call">
      <div className="chat-call-head">
        <span className="kind tool">call</span> <b>{name}</b>
        {call.id && <span className="muted mono"> {call.id}</span>}
        <CopyButton value={args} what={`arguments of ${name}`} />
      </div>
      <Value value={args} />
    </div>
  );
}

export function ChatMessage({ message }: { message: Message }) {
  const role = message.role ?? "message";
  const text = contentText(message.content);
  return (
    <div className={`chat-msg role-${role}`} data-role={role}>
      <div className="chat-role">
        {role}
        {message.name && <span className="muted"> · {message.name}</span>}
        {message.tool_call_id && <span className="muted mono"> · result of {message.tool_call_id}</span>}
        {text !== null && <CopyButton value={text} what={`${role} message`} />}
      </div>
      {text !== null ? (
        text && <MarkdownText text={text} />
      ) : message.content !== undefined && message.content !== null ? (
        <Value value={message.content} />
      ) : null}
      {(message.tool_calls ?? []).map((call, i) => (
        <ToolCallView key={call.id ?? i} call={call} />
      ))}
    </div>
  );
}

export function Chat({ messages }: { messages: unknown }) {
  if (isLarge(messages) || !Array.isArray(messages)) return <Value value={messages} collapsed />;
  return (
    <div className="chat" data-testid="chat">
      {messages.map((m, i) =>
        m && typeof m === "object" ? <ChatMessage key={i} message={m as Message} /> : <Value key={i} value={m} />,
      )}
    </div>
  );
}
