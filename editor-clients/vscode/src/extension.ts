/**
 * SymGen for VS Code: wiring only. The SymGen language server (`symgen-server`, over stdio)
 * does the completing; lsp/ holds the client, its lifecycle and one file per LSP feature,
 * StatusBarItem.ts the status bar, commands/ the commands, OutputLog.ts the output channel.
 */
import type * as vscode from "vscode";
import { Commands } from "./commands";
import { GenerateFromSelection } from "./commands/generateFromSelection";
import { ConfigurationSyncFeature } from "./lsp/ConfigurationSyncFeature";
import { ExecuteCommandFeature } from "./lsp/ExecuteCommandFeature";
import { Server } from "./lsp/Server";
import { OutputLog } from "./OutputLog";
import { StatusBarItem } from "./StatusBarItem";

let serverRef: Server | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = new OutputLog();
  const server = new Server(log);
  const requests = new ExecuteCommandFeature(server, log);
  context.subscriptions.push(log, new StatusBarItem(server, requests));
  serverRef = server;

  const generate = new GenerateFromSelection(requests, log); // remembers the source editor
  new Commands(server, requests, log, generate).register(context);
  context.subscriptions.push(
    new ConfigurationSyncFeature(server, log), // settings → server
    generate,
    server, // disposing it stops the server
  );
  void server.start(); // never throws: failures become a notification, the editor keeps working
}

export async function deactivate(): Promise<void> {
  await serverRef?.stop();
  serverRef = undefined;
}
