/**
 * Server-created work-done progress ($/progress) as a `window.withProgress` notification with
 * a Cancel button that sends window/workDoneProgress/cancel: the stock feature (left out in
 * Client.ts) shows a non-cancellable status-bar spinner, and a training job runs for minutes.
 */
import * as vscode from "vscode";
import {
  type ClientCapabilities,
  type FeatureState,
  type LanguageClient,
  type ServerCapabilities,
  type StaticFeature,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  type WorkDoneProgressReport,
} from "vscode-languageclient/node";

export class NotificationProgressFeature implements StaticFeature {
  private readonly active = new Map<string | number, () => void>();

  constructor(
    private readonly client: LanguageClient,
    private readonly onChange: (running: number) => void,
  ) {}

  getState(): FeatureState {
    return { kind: "static" };
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...(capabilities.window ?? {}), workDoneProgress: true };
  }

  initialize(_capabilities: ServerCapabilities): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      this.track(params.token);
    });
  }

  get running(): number {
    return this.active.size;
  }

  private track(token: string | number): void {
    let progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
    let finish: (() => void) | undefined;
    let reported = 0;
    const pending: (WorkDoneProgressReport | WorkDoneProgressBegin)[] = [];
    const report = (value: WorkDoneProgressBegin | WorkDoneProgressReport): void => {
      if (progress === undefined) {
        pending.push(value);
        return;
      }
      const update: { message?: string; increment?: number } = {};
      if (value.message !== undefined) update.message = value.message;
      if (typeof value.percentage === "number") {
        const pct = Math.max(0, Math.min(100, value.percentage));
        update.increment = Math.max(0, pct - reported);
        reported += update.increment;
      }
      progress.report(update);
    };
    const sub = this.client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === "begin") {
        const begin = value;
        void vscode.window.withProgress(
          {
            location: vscode.ProgressLocation.Notification,
            title: begin.title,
            cancellable: begin.cancellable ?? false,
          },
          (p, cancel) =>
            new Promise<void>((resolve) => {
              progress = p;
              finish = resolve;
              cancel.onCancellationRequested(() => {
                void this.client.sendNotification(WorkDoneProgressCancelNotification.type, {
                  token,
                });
              });
              if (this.active.get(token) === undefined) {
                resolve(); // ended before the notification appeared
                return;
              }
              for (const queued of pending.splice(0)) report(queued);
            }),
        );
        report(begin);
      } else if (value.kind === "report") {
        report(value);
      } else {
        const end = value;
        this.done(token);
        if (end.message) void vscode.window.setStatusBarMessage(end.message, 10_000);
      }
    });
    this.active.set(token, () => {
      sub.dispose();
      finish?.();
    });
    this.onChange(this.active.size);
  }

  private done(token: string | number): void {
    const stop = this.active.get(token);
    this.active.delete(token);
    stop?.();
    this.onChange(this.active.size);
  }

  clear(): void {
    for (const token of [...this.active.keys()]) this.done(token);
  }
}
