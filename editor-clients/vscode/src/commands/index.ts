/**
 * The SymGen commands of package.json's `contributes.commands`, registered with VS Code; a
 * command that throws says so in a notification. Generate Training Data from Selection has its
 * own file (it tracks the source editor); the others are short enough to live here.
 */
import * as vscode from "vscode";
import { formatStatus, type ServerStatus } from "../config";
import type { ExecuteCommandFeature } from "../lsp/ExecuteCommandFeature";
import type { Server } from "../lsp/Server";
import type { OutputLog } from "../OutputLog";
import type { GenerateFromSelection } from "./generateFromSelection";

export class Commands {
  constructor(
    private readonly server: Server,
    private readonly requests: ExecuteCommandFeature,
    private readonly log: OutputLog,
    private readonly generate: GenerateFromSelection,
  ) {}

  register(context: vscode.ExtensionContext): void {
    const register = (id: string, run: () => Promise<void>): void => {
      context.subscriptions.push(
        vscode.commands.registerCommand(id, async () => {
          try {
            await run();
          } catch (error) {
            void vscode.window.showErrorMessage(`SymGen: ${id} failed: ${String(error)}`);
          }
        }),
      );
    };
    register("symgen.generateFromSelection", () => this.generate.run());
    register("symgen.train", () => this.train());
    register("symgen.reloadModel", () => this.reloadModel());
    register("symgen.showStatus", () => this.showStatus());
    register("symgen.cancelJobs", () => this.cancelJobs());
    register("symgen.restartServer", () => this.server.restart());
    register("symgen.showLog", () => Promise.resolve(this.log.show()));
  }

  private async train(): Promise<void> {
    const result = await this.requests.job<{ ok: boolean; model?: string }>("symgen.train", []);
    if (result !== undefined) this.log.appendLine(`train: ${JSON.stringify(result)}`);
  }

  private async reloadModel(): Promise<void> {
    const status = await this.requests.request<ServerStatus>("symgen.reloadModel");
    if (status === undefined) return;
    await this.server.status.refresh();
    void vscode.window.showInformationMessage(
      status.ready
        ? `SymGen: model ${status.model ?? ""} ready`
        : `SymGen: no model loaded${status.problems?.length ? ": " + status.problems.join("; ") : ""}`,
    );
  }

  private async showStatus(): Promise<void> {
    const status = await this.server.status.refresh();
    if (status === undefined) {
      this.log.show();
      void vscode.window.showWarningMessage(
        "SymGen: the language server is not running; its log is shown in Output › SymGen.",
      );
      return;
    }
    this.log.appendLine("---- SymGen status ----");
    this.log.appendLine(formatStatus(status));
    this.log.show();
    void vscode.window.showInformationMessage(
      `SymGen: ${status.ready ? "ready" : "no model"} · model ${status.model ?? "none"} · ` +
        `database ${status.database ?? "none"} · p50 ${status.latency_p50_ms ?? "-"} ms · ` +
        `${status.data_files ?? 0} data files (${status.data_pairs ?? 0} pairs)`,
    );
  }

  private async cancelJobs(): Promise<void> {
    const result = await this.requests.request<{ cancelled: number }>("symgen.cancelJobs");
    if (result !== undefined) {
      void vscode.window.showInformationMessage(`SymGen: cancelled ${result.cancelled} job(s)`);
    }
  }
}
