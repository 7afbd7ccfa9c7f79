/**
 * Completion middleware: ghost text (textDocument/inlineCompletion) comes on every keystroke,
 * with the insert text fitted to the cursor's line; the classic completion item only on an
 * explicit Ctrl+Space, not on each space typed in a comment.
 */
import * as vscode from "vscode";
import type { Middleware } from "vscode-languageclient/node";
import { adjustInsertText } from "../config";

export const completionMiddleware: Middleware = {
  provideInlineCompletionItems: async (document, position, context, token, next) => {
    const result = await next(document, position, context, token);
    const before = document.lineAt(position.line).text.slice(0, position.character);
    const fix = (item: vscode.InlineCompletionItem): vscode.InlineCompletionItem => {
      if (typeof item.insertText !== "string") return item;
      const text = adjustInsertText(before, item.insertText);
      if (text === item.insertText) return item;
      return new vscode.InlineCompletionItem(text, item.range, item.command);
    };
    if (result === null || result === undefined) return result;
    if (Array.isArray(result)) return result.map(fix);
    return new vscode.InlineCompletionList(result.items.map(fix));
  },
  provideCompletionItem: (document, position, context, token, next) =>
    context.triggerKind === vscode.CompletionTriggerKind.Invoke
      ? next(document, position, context, token)
      : undefined,
};
