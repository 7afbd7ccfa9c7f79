/**
 * SymGen for VS Code: starts `symgen-server` over stdio with vscode-languageclient and wires
 * ghost-text SQL completions, the training commands, long-job progress and a status-bar item.
 */
import * as os from "node:os";
import * as vscode from "vscode";
import {
  CloseAction,
  type CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandlerResult,
  ExecuteCommandRequest,
  type FeatureState,
  LanguageClient,
  type LanguageClientOptions,
  type ServerCapabilities,
  type ServerOptions,
  State,
  type StaticFeature,
  type DynamicFeature,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  type WorkDoneProgressBegin,
  WorkDoneProgressCreateRequest,
  type WorkDoneProgressReport,
  type ClientCapabilities,
} from "vscode-languageclient/node";
import {
  adjustInsertText,
  type ClientState,
  commandLine,
  formatStatus,
  NO_SELECTION_MESSAGE,
  type PathVars,
  resolveServerCommand,
  type ServerCommand,
  type ServerStatus,
  selectionArgs,
  settingsToInitOptions,
  startErrorMessage,
  statusBarText,
} from "./config";

const SECTION = "symgen";
/** SQL `--` comments; Python and shell-script `#` comments, each with its own model. */
const LANGUAGES = ["sql", "python", "shellscript"];
/** Settings that change the server process itself: a change restarts it. */
const PROCESS_KEYS = ["serverCommand", "pythonPath"];
const MAX_CRASHES = 3;
/** Documents the server can read (not output panels, diff views, settings...). */
const SOURCE_SCHEMES = ["file", "untitled"];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const CRASH_WINDOW_MS = 3 * 60 * 1000;

function featureId(feature: StaticFeature | DynamicFeature<unknown>): string | undefined {
  try {
    return feature.getState().kind === "static" ? undefined : (feature.getState() as { id?: string }).id;
  } catch {
    return undefined;
  }
}

/**
 * The stock client, but (1) the server's commands are not registered as VS Code commands
 * (ours have the same ids and send the editor's selection), and (2) server-created work-done
 * progress is shown as a notification with a Cancel button (the stock feature shows a
 * non-cancellable status-bar spinner).
 */
class SymgenLanguageClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const id = featureId(feature);
    if (id === ExecuteCommandRequest.method || id === WorkDoneProgressCreateRequest.method) {
      return;
    }
    super.registerFeature(feature);
  }
}

/** Server-created progress ($/progress) → `window.withProgress` notification, cancellable. */
class NotificationProgressFeature implements StaticFeature {
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

class Symgen {
  private client: SymgenLanguageClient | undefined;
  private progress: NotificationProgressFeature | undefined;
  private state: ClientState = "stopped";
  private status: ServerStatus | undefined;
  private crashes: number[] = [];
  private readonly output: vscode.OutputChannel;
  private readonly item: vscode.StatusBarItem;
  private statusTimer: NodeJS.Timeout | undefined;
  private clientJobs = 0;
  private readonly lastLines: string[] = [];
  private lastSourceEditor: vscode.TextEditor | undefined;
  private readonly everRunning = new WeakSet<LanguageClient>();

  constructor(context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel("SymGen");
    this.item = vscode.window.createStatusBarItem("symgen.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "SymGen";
    this.item.command = "symgen.showStatus";
    context.subscriptions.push(this.output, this.item);
    this.render();
    this.item.show();
  }

  private config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  private vars(): PathVars {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return folder === undefined ? { home: os.homedir() } : { workspaceFolder: folder, home: os.homedir() };
  }

  private render(): void {
    const running = (this.progress?.running ?? 0) + this.clientJobs;
    const { text, tooltip } = statusBarText(this.state, this.status, running);
    this.item.text = text;
    this.item.tooltip = tooltip;
  }

  async start(): Promise<void> {
    const cmd = resolveServerCommand(this.config(), this.vars());
    this.output.appendLine(`Starting ${commandLine(cmd)}`);
    const serverOptions: ServerOptions = {
      command: cmd.command,
      args: cmd.args,
      // no `transport`: plain stdio (TransportKind.stdio would add a --stdio argument)
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir() },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.flatMap((language) => [
        { scheme: "file", language },
        { scheme: "untitled", language },
      ]),
      initializationOptions: settingsToInitOptions(this.config(), this.vars()),
      outputChannel: this.recording(),
      revealOutputChannelOn: 4, // RevealOutputChannelOn.Never: we tell the user ourselves
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
        closed: (): CloseHandlerResult => this.onClosed(cmd, client),
      },
      initializationFailedHandler: (error) => {
        this.output.appendLine(`Initialization failed: ${String(error)}`);
        return false;
      },
      middleware: {
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
        // Ghost text comes from inline completions on every keystroke; the classic item is
        // offered only on an explicit Ctrl+Space (not on each typed space in a comment).
        provideCompletionItem: (document, position, context, token, next) =>
          context.triggerKind === vscode.CompletionTriggerKind.Invoke
            ? next(document, position, context, token)
            : undefined,
      },
    };
    const client = new SymgenLanguageClient("symgen", "SymGen", serverOptions, clientOptions);
    const progress = new NotificationProgressFeature(client, () => this.render());
    client.registerFeature(progress);
    client.registerProposedFeatures(); // textDocument/inlineCompletion → ghost text
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.state = "running";
        this.everRunning.add(client);
      }
      else if (event.newState === State.Starting) this.state = "starting";
      else if (this.state !== "failed") this.state = "stopped";
      if (event.newState !== State.Running) {
        progress.clear();
        this.status = undefined;
      }
      this.render();
      if (event.newState === State.Running) void this.refreshStatus();
    });
    this.client = client;
    this.progress = progress;
    this.state = "starting";
    this.render();
    try {
      await client.start();
    } catch (error) {
      this.state = "failed";
      this.render();
      await sleep(300); // let the process's stderr reach the output channel
      const reason = this.serverReason(error instanceof Error ? error.message : String(error));
      this.output.appendLine(`Could not start ${commandLine(cmd)}: ${reason}`);
      this.fail(cmd, reason);
      return;
    }
    this.output.appendLine("SymGen language server running");
    await this.refreshStatus();
    this.statusTimer ??= setInterval(() => void this.refreshStatus(), 15_000);
  }

  /** The output channel, remembering the last lines (the server's stderr) for error messages. */
  private recording(): vscode.OutputChannel {
    const remember = (text: string): void => {
      for (const line of text.split(/\r?\n/)) {
        if (line.trim() !== "") this.lastLines.push(line.trim());
      }
      this.lastLines.splice(0, Math.max(0, this.lastLines.length - 20));
    };
    const output = this.output;
    return new Proxy(output, {
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
  private serverReason(fallback: string): string {
    const useful = [...this.lastLines]
      .reverse()
      .find((line) => /error|No module|not found|Traceback|Errno|denied/i.test(line) && !/^\[(Error|Info)/.test(line));
    return useful ?? fallback;
  }

  private onClosed(cmd: ServerCommand, client: LanguageClient): CloseHandlerResult {
    if (!this.everRunning.has(client)) {
      // it never got going: start() fails and says why; restarting would only repeat that
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.state = "failed";
      this.render();
      this.fail(
        cmd,
        `it stopped ${this.crashes.length} times in the last 3 minutes (${this.serverReason("no reason given")})`,
      );
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.output.appendLine("The SymGen language server stopped; restarting it");
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
          this.output.show(true);
        }
      });
  }

  async stop(): Promise<void> {
    if (this.statusTimer !== undefined) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.progress?.clear();
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.appendLine(`Stopping the server: ${String(error)}`);
      }
    }
    this.state = "stopped";
    this.status = undefined;
    this.render();
  }

  async restart(): Promise<void> {
    this.crashes = [];
    await this.stop();
    await this.start();
  }

  /** `workspace/executeCommand` on the server, or undefined (with a message) when not running. */
  async serverCommand<T>(command: string, args: unknown[] = []): Promise<T | undefined> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showErrorMessage(
        "SymGen: the language server is not running. Run 'SymGen: Restart Language Server' " +
          "after fixing the settings; see Output › SymGen.",
        "Show Log",
      ).then((choice) => choice && this.output.show(true));
      return undefined;
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: args,
    })) as T;
  }

  async refreshStatus(): Promise<ServerStatus | undefined> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) return undefined;
    try {
      this.status = (await client.sendRequest(ExecuteCommandRequest.type, {
        command: "symgen.status",
        arguments: [],
      })) as ServerStatus;
    } catch (error) {
      this.output.appendLine(`symgen.status failed: ${String(error)}`);
    }
    this.render();
    return this.status;
  }

  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) return;
    if (PROCESS_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      this.output.appendLine("Server command changed: restarting the language server");
      await this.restart();
      return;
    }
    const client = this.client;
    if (client === undefined || !client.isRunning()) return;
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: settingsToInitOptions(this.config(), this.vars()) },
    });
    await this.refreshStatus();
  }

  /** A long server command, counted as a running job in the status bar while it runs. */
  private async job<T>(command: string, args: unknown[]): Promise<T | undefined> {
    this.clientJobs += 1;
    this.render();
    try {
      return await this.serverCommand<T>(command, args);
    } catch (error) {
      void vscode.window.showErrorMessage(`SymGen: ${command} failed: ${String(error)}`);
      return undefined;
    } finally {
      this.clientJobs -= 1;
      await this.refreshStatus();
    }
  }

  /** The editor whose selection is meant: the active one, unless that is e.g. an output panel. */
  private sourceEditor(): vscode.TextEditor | undefined {
    const isSource = (e: vscode.TextEditor | undefined): boolean =>
      e !== undefined && SOURCE_SCHEMES.includes(e.document.uri.scheme);
    const active = vscode.window.activeTextEditor;
    if (isSource(active)) return active;
    const last = this.lastSourceEditor;
    if (last !== undefined && isSource(last) && vscode.window.visibleTextEditors.includes(last)) {
      return last;
    }
    return vscode.window.visibleTextEditors.find((e) => isSource(e));
  }

  rememberEditor(editor: vscode.TextEditor | undefined): void {
    if (editor !== undefined && SOURCE_SCHEMES.includes(editor.document.uri.scheme)) {
      this.lastSourceEditor = editor;
    }
  }

  async generateFromSelection(): Promise<void> {
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
    const result = await this.job<{ ok: boolean; out?: string; kept?: number; error?: string }>(
      "symgen.generateFromSelection",
      args,
    );
    if (result !== undefined) {
      this.output.appendLine(`generateFromSelection: ${JSON.stringify(result)}`);
    }
  }

  async train(): Promise<void> {
    const result = await this.job<{ ok: boolean; model?: string }>("symgen.train", []);
    if (result !== undefined) this.output.appendLine(`train: ${JSON.stringify(result)}`);
  }

  async reloadModel(): Promise<void> {
    const status = await this.serverCommand<ServerStatus>("symgen.reloadModel");
    if (status === undefined) return;
    await this.refreshStatus();
    void vscode.window.showInformationMessage(
      status.ready
        ? `SymGen: model ${status.model ?? ""} ready`
        : `SymGen: no model loaded${status.problems?.length ? ": " + status.problems.join("; ") : ""}`,
    );
  }

  async showStatus(): Promise<void> {
    const status = await this.refreshStatus();
    if (status === undefined) {
      this.output.show(true);
      void vscode.window.showWarningMessage(
        "SymGen: the language server is not running; its log is shown in Output › SymGen.",
      );
      return;
    }
    this.output.appendLine("---- SymGen status ----");
    this.output.appendLine(formatStatus(status));
    this.output.show(true);
    void vscode.window.showInformationMessage(
      `SymGen: ${status.ready ? "ready" : "no model"} · model ${status.model ?? "none"} · ` +
        `database ${status.database ?? "none"} · p50 ${status.latency_p50_ms ?? "-"} ms · ` +
        `${status.data_files ?? 0} data files (${status.data_pairs ?? 0} pairs)`,
    );
  }

  showLog(): void {
    this.output.show(true);
  }

  async cancelJobs(): Promise<void> {
    const result = await this.serverCommand<{ cancelled: number }>("symgen.cancelJobs");
    if (result !== undefined) {
      void vscode.window.showInformationMessage(`SymGen: cancelled ${result.cancelled} job(s)`);
    }
  }
}

let instance: Symgen | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const symgen = new Symgen(context);
  instance = symgen;
  symgen.rememberEditor(vscode.window.activeTextEditor);
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
  register("symgen.generateFromSelection", () => symgen.generateFromSelection());
  register("symgen.train", () => symgen.train());
  register("symgen.reloadModel", () => symgen.reloadModel());
  register("symgen.showStatus", () => symgen.showStatus());
  register("symgen.cancelJobs", () => symgen.cancelJobs());
  register("symgen.restartServer", () => symgen.restart());
  register("symgen.showLog", () => Promise.resolve(symgen.showLog()));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => void symgen.configurationChanged(event)),
    vscode.window.onDidChangeActiveTextEditor((editor) => symgen.rememberEditor(editor)),
    { dispose: () => void symgen.stop() },
  );
  void symgen.start(); // never throws: failures become a notification, the editor keeps working
}

export async function deactivate(): Promise<void> {
  await instance?.stop();
  instance = undefined;
}
