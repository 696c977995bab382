// Long text in CodeMirror (it virtualizes lines): loaded only when a page needs it.
import CodeMirror, { EditorView } from "@uiw/react-codemirror";

export default function BigText({ text }: { text: string }) {
  return (
    <div className="bigtext" data-testid="bigtext">
      <CodeMirror
        value={text}
        readOnly
        editable={false}
        basicSetup={{ lineNumbers: true, foldGutter: false, highlightActiveLine: false }}
        extensions={[EditorView.lineWrapping]}
        maxHeight="420px"
      />
    </div>
  );
}
