/**
 * The server's `symgen.status` (model, database, latency, training data, jobs, problems) for
 * the status bar and Show Status: fetched when the server comes up, after a settings change or
 * a job, and every 15 s while the server runs.
 */
import { ExecuteCommandRequest, type LanguageClient } from "vscode-languageclient/node";
import type { ServerStatus } from "../config";
import type { OutputLog } from "../OutputLog";

const POLL_MS = 15_000;

export class StatusFeature {
  private value: ServerStatus | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The client when the server is running, else undefined. */
    private readonly running: () => LanguageClient | undefined,
    private readonly log: OutputLog,
    private readonly onChange: () => void,
  ) {}

  /** The last status the server sent, until the server stops. */
  get current(): ServerStatus | undefined {
    return this.value;
  }

  /** Ask the server; undefined when it is not running (then nothing changes). */
  async refresh(): Promise<ServerStatus | undefined> {
    const client = this.running();
    if (client === undefined) return undefined;
    try {
      this.value = (await client.sendRequest(ExecuteCommandRequest.type, {
        command: "symgen.status",
        arguments: [],
      })) as ServerStatus;
    } catch (error) {
      this.log.appendLine(`symgen.status failed: ${String(error)}`);
    }
    this.onChange();
    return this.value;
  }

  /** Forget the status (the server stopped); the caller renders. */
  clear(): void {
    this.value = undefined;
  }

  startPolling(): void {
    this.timer ??= setInterval(() => void this.refresh(), POLL_MS);
  }

  stopPolling(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
