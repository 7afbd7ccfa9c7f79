/**
 * The "SymGen" output channel. The language client writes the server's stderr into it through
 * `recording()`, which keeps the last lines, so that an error notification can quote the
 * server's own reason ("No module named symgen_server") rather than "connection closed".
 */
import * as vscode from "vscode";

const KEEP_LINES = 20;

export class OutputLog implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel("SymGen");
  private readonly lastLines: string[] = [];

  /** A line of our own (not remembered as the server's). */
  appendLine(text: string): void {
    this.channel.appendLine(text);
  }

  /** Reveal the channel without taking the focus. */
  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }

  /** The channel for the language client: remembers the last lines (the server's stderr). */
  recording(): vscode.OutputChannel {
    const remember = (text: string): void => {
      for (const line of text.split(/\r?\n/)) {
        if (line.trim() !== "") this.lastLines.push(line.trim());
      }
      this.lastLines.splice(0, Math.max(0, this.lastLines.length - KEEP_LINES));
    };
    return new Proxy(this.channel, {
      get(target, prop, receiver): unknown {
        if (prop === "append" || prop === "appendLine") {
          return (text: string): void => {
            remember(text);
            if (prop === "append") target.append(text);
            else target.appendLine(text);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The server's own last words, e.g. "No module named symgen_server" or a usage error. */
  serverReason(fallback: string): string {
    const useful = [...this.lastLines]
      .reverse()
      .find((line) => /error|No module|not found|Traceback|Errno|denied/i.test(line) && !/^\[(Error|Info)/.test(line));
    return useful ?? fallback;
  }
}
