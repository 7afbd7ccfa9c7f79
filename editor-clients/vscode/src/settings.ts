/**
 * The `symgen` settings section and the values its path settings expand, read from VS Code for
 * the pure helpers in config.ts (which stay free of `vscode`, so they are unit-tested).
 */
import * as os from "node:os";
import * as vscode from "vscode";
import type { PathVars } from "./config";

export const SECTION = "symgen";

export function settings(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** The first workspace folder's path, when a folder is open. */
export function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

export function pathVars(): PathVars {
  const folder = workspaceFolder();
  return folder === undefined ? { home: os.homedir() } : { workspaceFolder: folder, home: os.homedir() };
}
