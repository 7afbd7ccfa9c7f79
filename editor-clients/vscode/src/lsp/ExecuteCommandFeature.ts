/**
 * workspace/executeCommand for our commands (the stock feature is left out, see Client.ts): a
 * request that says so when the server is not running, and a long job that counts as running
 * in the status bar until it ends.
 */
import * as vscode from "vscode";
import { ExecuteCommandRequest } from "vscode-languageclient/node";
import type { OutputLog } from "../OutputLog";
import type { Server } from "./Server";

export class ExecuteCommandFeature {
  private jobs = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  /** The number of running jobs changed. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly server: Server,
    private readonly log: OutputLog,
  ) {}

  /** Jobs started from this window that have not answered yet. */
  get running(): number {
    return this.jobs;
  }

  /** `command` on the server, or undefined (with a message) when it is not running. */
  async request<T>(command: string, args: unknown[] = []): Promise<T | undefined> {
    const client = this.server.running();
    if (client === undefined) {
      void vscode.window.showErrorMessage(
        "SymGen: the language server is not running. Run 'SymGen: Restart Language Server' " +
          "after fixing the settings; see Output › SymGen.",
        "Show Log",
      ).then((choice) => choice && this.log.show());
      return undefined;
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: args,
    })) as T;
  }

  /** A long server command, counted as a running job while it runs; errors become a message. */
  async job<T>(command: string, args: unknown[]): Promise<T | undefined> {
    this.jobs += 1;
    this.changed.fire();
    try {
      return await this.request<T>(command, args);
    } catch (error) {
      void vscode.window.showErrorMessage(`SymGen: ${command} failed: ${String(error)}`);
      return undefined;
    } finally {
      this.jobs -= 1;
      await this.server.status.refresh(); // renders the status bar (when the server runs)
    }
  }
}
