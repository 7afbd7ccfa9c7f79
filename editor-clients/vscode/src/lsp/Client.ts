/**
 * The language client for one run of the server: plain stdio to the resolved command, the
 * SQL / Python / shell-script documents, the completion middleware and the progress feature.
 * The stock client is subclassed to leave two stock features out: workspace/executeCommand
 * (our VS Code commands have the server's ids and send the editor's selection, see
 * ExecuteCommandFeature.ts) and work-done progress (see NotificationProgressFeature.ts).
 */
import * as os from "node:os";
import {
  type CloseHandlerResult,
  type DynamicFeature,
  ErrorAction,
  type ErrorHandlerResult,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";
import { type ServerCommand, settingsToInitOptions } from "../config";
import type { OutputLog } from "../OutputLog";
import { pathVars, settings, workspaceFolder } from "../settings";
import { completionMiddleware } from "./CompletionMiddleware";
import { NotificationProgressFeature } from "./NotificationProgressFeature";

/** SQL `--` comments; Python and shell-script `#` comments, each with its own model. */
const LANGUAGES = ["sql", "python", "shellscript"];

function featureId(feature: StaticFeature | DynamicFeature<unknown>): string | undefined {
  try {
    return feature.getState().kind === "static" ? undefined : (feature.getState() as { id?: string }).id;
  } catch {
    return undefined;
  }
}

class SymgenLanguageClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const id = featureId(feature);
    if (id === ExecuteCommandRequest.method || id === WorkDoneProgressCreateRequest.method) {
      return;
    }
    super.registerFeature(feature);
  }
}

export interface ClientHandlers {
  /** The connection closed: restart it or not (the crash policy is the caller's). */
  closed(): CloseHandlerResult;
  /** The number of running server jobs (progress notifications) changed. */
  progressChanged(): void;
}

/** A client (not started) for `cmd`, with its progress feature. */
export function createClient(
  cmd: ServerCommand,
  log: OutputLog,
  handlers: ClientHandlers,
): { client: LanguageClient; progress: NotificationProgressFeature } {
  const serverOptions: ServerOptions = {
    command: cmd.command,
    args: cmd.args,
    // no `transport`: plain stdio (TransportKind.stdio would add a --stdio argument)
    options: { cwd: workspaceFolder() ?? os.homedir() },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: "file", language },
      { scheme: "untitled", language },
    ]),
    initializationOptions: settingsToInitOptions(settings(), pathVars()),
    outputChannel: log.recording(),
    revealOutputChannelOn: 4, // RevealOutputChannelOn.Never: we tell the user ourselves
    errorHandler: {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
      closed: (): CloseHandlerResult => handlers.closed(),
    },
    initializationFailedHandler: (error) => {
      log.appendLine(`Initialization failed: ${String(error)}`);
      return false;
    },
    middleware: completionMiddleware,
  };
  const client = new SymgenLanguageClient("symgen", "SymGen", serverOptions, clientOptions);
  const progress = new NotificationProgressFeature(client, () => handlers.progressChanged());
  client.registerFeature(progress);
  client.registerProposedFeatures(); // textDocument/inlineCompletion → ghost text
  return { client, progress };
}
