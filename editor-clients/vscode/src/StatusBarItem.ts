/**
 * The status-bar item: whether the server runs, its model, and whether a job is running (the
 * texts are config.ts's statusBarText); a click runs SymGen: Show Status.
 */
import * as vscode from "vscode";
import { statusBarText } from "./config";
import type { ExecuteCommandFeature } from "./lsp/ExecuteCommandFeature";
import type { Server } from "./lsp/Server";

export class StatusBarItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly server: Server,
    private readonly requests: ExecuteCommandFeature,
  ) {
    this.item = vscode.window.createStatusBarItem("symgen.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "SymGen";
    this.item.command = "symgen.showStatus";
    this.update();
    this.item.show();
    this.subscriptions = [server.onDidChange(() => this.update()), requests.onDidChange(() => this.update())];
  }

  private update(): void {
    const running = this.server.runningJobs + this.requests.running;
    const { text, tooltip } = statusBarText(this.server.state, this.server.status.current, running);
    this.item.text = text;
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.item.dispose();
  }
}
