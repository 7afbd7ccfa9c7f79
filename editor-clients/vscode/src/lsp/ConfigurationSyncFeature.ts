/**
 * Settings changes reach the server: `symgen.*` as workspace/didChangeConfiguration (the same
 * payload as the initializationOptions), and a changed server command restarts the server.
 */
import * as vscode from "vscode";
import { DidChangeConfigurationNotification } from "vscode-languageclient/node";
import { settingsToInitOptions } from "../config";
import type { OutputLog } from "../OutputLog";
import { pathVars, SECTION, settings } from "../settings";
import type { Server } from "./Server";

/** Settings that change the server process itself: a change restarts it. */
const PROCESS_KEYS = ["serverCommand", "pythonPath"];

export class ConfigurationSyncFeature implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly server: Server,
    private readonly log: OutputLog,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => void this.changed(event));
  }

  private async changed(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) return;
    if (PROCESS_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      this.log.appendLine("Server command changed: restarting the language server");
      await this.server.restart();
      return;
    }
    const client = this.server.running();
    if (client === undefined) return;
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: settingsToInitOptions(settings(), pathVars()) },
    });
    await this.server.status.refresh();
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
