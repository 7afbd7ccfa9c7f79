/**
 * Keeps the SymGen language server running: starts it (a new client per run), lets the client
 * restart it after a crash unless it crashed more than 3 times in 3 minutes, and when it cannot
 * run says why (the server's own last words) and what to set. Holds what the status bar shows:
 * the client state, the server's status and its running jobs.
 */
import * as vscode from "vscode";
import { CloseAction, type CloseHandlerResult, type LanguageClient, State } from "vscode-languageclient/node";
import { type ClientState, commandLine, resolveServerCommand, type ServerCommand, startErrorMessage } from "../config";
import type { OutputLog } from "../OutputLog";
import { pathVars, settings } from "../settings";
import { createClient } from "./Client";
import type { NotificationProgressFeature } from "./NotificationProgressFeature";
import { StatusFeature } from "./StatusFeature";

const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 3 * 60 * 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private progress: NotificationProgressFeature | undefined;
  private clientState: ClientState = "stopped";
  private crashes: number[] = [];
  private readonly everRunning = new WeakSet<LanguageClient>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** The state, the status or the number of server jobs changed. */
  readonly onDidChange = this.changed.event;
  readonly status: StatusFeature;

  constructor(private readonly log: OutputLog) {
    this.status = new StatusFeature(() => this.running(), log, () => this.changed.fire());
  }

  get state(): ClientState {
    return this.clientState;
  }

  /** Jobs the server reports progress for (e.g. a training run). */
  get runningJobs(): number {
    return this.progress?.running ?? 0;
  }

  /** The client, when the server is running. */
  running(): LanguageClient | undefined {
    const client = this.client;
    return client !== undefined && client.isRunning() ? client : undefined;
  }

  async start(): Promise<void> {
    const cmd = resolveServerCommand(settings(), pathVars());
    this.log.appendLine(`Starting ${commandLine(cmd)}`);
    const { client, progress } = createClient(cmd, this.log, {
      closed: () => this.onClosed(cmd, client),
      progressChanged: () => this.changed.fire(),
    });
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.clientState = "running";
        this.everRunning.add(client);
      } else if (event.newState === State.Starting) this.clientState = "starting";
      else if (this.clientState !== "failed") this.clientState = "stopped";
      if (event.newState !== State.Running) {
        progress.clear();
        this.status.clear();
      }
      this.changed.fire();
      if (event.newState === State.Running) void this.status.refresh();
    });
    this.client = client;
    this.progress = progress;
    this.clientState = "starting";
    this.changed.fire();
    try {
      await client.start();
    } catch (error) {
      this.clientState = "failed";
      this.changed.fire();
      await sleep(300); // let the process's stderr reach the output channel
      const reason = this.log.serverReason(error instanceof Error ? error.message : String(error));
      this.log.appendLine(`Could not start ${commandLine(cmd)}: ${reason}`);
      this.fail(cmd, reason);
      return;
    }
    this.log.appendLine("SymGen language server running");
    await this.status.refresh();
    this.status.startPolling();
  }

  private onClosed(cmd: ServerCommand, client: LanguageClient): CloseHandlerResult {
    if (!this.everRunning.has(client)) {
      // it never got going: start() fails and says why; restarting would only repeat that
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.clientState = "failed";
      this.changed.fire();
      this.fail(
        cmd,
        `it stopped ${this.crashes.length} times in the last 3 minutes (${this.log.serverReason("no reason given")})`,
      );
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.log.appendLine("The SymGen language server stopped; restarting it");
    return { action: CloseAction.Restart, handled: true };
  }

  private fail(cmd: ServerCommand, reason: string): void {
    const message = startErrorMessage(cmd, reason);
    void vscode.window
      .showErrorMessage(message, "Open Settings", "Show Log")
      .then((choice) => {
        if (choice === "Open Settings") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "symgen.");
        } else if (choice === "Show Log") {
          this.log.show();
        }
      });
  }

  async stop(): Promise<void> {
    this.status.stopPolling();
    const client = this.client;
    this.client = undefined;
    this.progress?.clear();
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log.appendLine(`Stopping the server: ${String(error)}`);
      }
    }
    this.clientState = "stopped";
    this.status.clear();
    this.changed.fire();
  }

  async restart(): Promise<void> {
    this.crashes = [];
    await this.stop();
    await this.start();
  }

  /** Stops the server when the extension is disposed. */
  dispose(): void {
    void this.stop();
  }
}
