/**
 * SymGen: Generate Training Data from Selection: sends the selected example pairs to the server
 * as a long job. The selection is that of the source editor the user means: run from the command
 * palette, the active editor may be an output panel or a diff view, so the last source editor
 * that was active is remembered.
 */
import * as vscode from "vscode";
import { NO_SELECTION_MESSAGE, selectionArgs } from "../config";
import type { ExecuteCommandFeature } from "../lsp/ExecuteCommandFeature";
import type { OutputLog } from "../OutputLog";

/** Documents the server can read (not output panels, diff views, settings...). */
const SOURCE_SCHEMES = ["file", "untitled"];

const isSource = (e: vscode.TextEditor | undefined): e is vscode.TextEditor =>
  e !== undefined && SOURCE_SCHEMES.includes(e.document.uri.scheme);

export class GenerateFromSelection implements vscode.Disposable {
  private lastSourceEditor: vscode.TextEditor | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly requests: ExecuteCommandFeature,
    private readonly log: OutputLog,
  ) {
    this.remember(vscode.window.activeTextEditor);
    this.subscription = vscode.window.onDidChangeActiveTextEditor((editor) => this.remember(editor));
  }

  private remember(editor: vscode.TextEditor | undefined): void {
    if (isSource(editor)) this.lastSourceEditor = editor;
  }

  /** The editor whose selection is meant: the active one, unless that is e.g. an output panel. */
  private sourceEditor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (isSource(active)) return active;
    const last = this.lastSourceEditor;
    if (last !== undefined && isSource(last) && vscode.window.visibleTextEditors.includes(last)) {
      return last;
    }
    return vscode.window.visibleTextEditors.find((e) => isSource(e));
  }

  async run(): Promise<void> {
    const editor = this.sourceEditor();
    if (editor === undefined) {
      void vscode.window.showWarningMessage(NO_SELECTION_MESSAGE);
      return;
    }
    const sel = editor.selection;
    const args = selectionArgs(editor.document.uri.toString(), {
      start: { line: sel.start.line, character: sel.start.character },
      end: { line: sel.end.line, character: sel.end.character },
    });
    if (args === undefined) {
      void vscode.window.showWarningMessage(NO_SELECTION_MESSAGE);
      return;
    }
    const result = await this.requests.job<{ ok: boolean; out?: string; kept?: number; error?: string }>(
      "symgen.generateFromSelection",
      args,
    );
    if (result !== undefined) {
      this.log.appendLine(`generateFromSelection: ${JSON.stringify(result)}`);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
