/**
 * Pure helpers (no `vscode` import, so they are unit-tested with `node --test`):
 * editor settings → the server's initializationOptions, the server command line, and the
 * texts the extension shows.
 */

/** What we read from the `symgen` configuration section (vscode.WorkspaceConfiguration fits). */
export interface ConfigLike {
  get<T>(section: string): T | undefined;
}

/** The settings the server understands (camelCase, as in server/symgen_server/settings.py). */
export interface InitOptions {
  model?: string;
  pythonModel?: string;
  bashModel?: string;
  database?: string;
  enabled?: boolean;
  debounceMs?: number;
  maxTokens?: number;
  beamSize?: number;
  executionGuided?: boolean;
  groundLiterals?: "prefer" | "constrain" | "off";
  threads?: number;
  commentPrefixes?: string[];
  format?: "oneline" | "pretty";
  generateQuestions?: number;
  samples?: number;
  minVotes?: string;
  trainMinutes?: number;
  generator?: string;
  arch?: string;
}

/** Values substituted into path settings. */
export interface PathVars {
  workspaceFolder?: string;
  home?: string;
}

const PATH_KEYS = ["model", "pythonModel", "bashModel", "database"] as const;
/** Non-empty strings only: "" means "the server's default", so it is left out. */
const CHOICE_KEYS = ["format", "groundLiterals", "generator", "arch"] as const;
const BOOLEAN_KEYS = ["enabled", "executionGuided"] as const;
const NUMBER_KEYS = [
  "debounceMs",
  "maxTokens",
  "beamSize",
  "threads",
  "generateQuestions",
  "samples",
  "trainMinutes",
] as const;

/** `${workspaceFolder}`, `${userHome}` and a leading `~` in a path setting. */
export function expandPath(value: string, vars: PathVars = {}): string {
  let out = value.trim();
  if (vars.workspaceFolder !== undefined) {
    out = out.split("${workspaceFolder}").join(vars.workspaceFolder);
  }
  if (vars.home !== undefined) {
    out = out.split("${userHome}").join(vars.home);
    if (out === "~" || out.startsWith("~/")) {
      out = vars.home + out.slice(1);
    }
  }
  return out;
}

/**
 * The `symgen.*` settings as the server's initializationOptions / didChangeConfiguration
 * payload. Unset keys are left out (the server keeps its defaults); values of the wrong type
 * are passed through unchanged so the server reports them with the reason, as it does for
 * any client.
 */
export function settingsToInitOptions(config: ConfigLike, vars: PathVars = {}): InitOptions {
  const out: Record<string, unknown> = {};
  for (const key of PATH_KEYS) {
    const value = config.get<unknown>(key);
    if (value !== undefined && value !== null) {
      out[key] = typeof value === "string" ? expandPath(value, vars) : value;
    }
  }
  for (const key of NUMBER_KEYS) {
    const value = config.get<unknown>(key);
    if (value !== undefined && value !== null) {
      out[key] = value;
    }
  }
  for (const key of BOOLEAN_KEYS) {
    const value = config.get<unknown>(key);
    if (value !== undefined && value !== null) {
      out[key] = value;
    }
  }
  const prefixes = config.get<unknown>("commentPrefixes");
  if (typeof prefixes === "string") {
    out.commentPrefixes = prefixes.trim() ? [prefixes] : [];
  } else if (prefixes !== undefined && prefixes !== null) {
    out.commentPrefixes = prefixes;
  }
  for (const key of CHOICE_KEYS) {
    const value = config.get<unknown>(key);
    if (value !== undefined && value !== null && value !== "") {
      out[key] = value;
    }
  }
  const minVotes = config.get<unknown>("minVotes");
  if (typeof minVotes === "number") {
    out.minVotes = String(minVotes); // the server wants a string ("3", "0.5")
  } else if (minVotes !== undefined && minVotes !== null && minVotes !== "") {
    out.minVotes = minVotes;
  }
  return out;
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** How the command was chosen, for error messages. */
  source: "symgen.serverCommand" | "symgen.pythonPath" | "default";
}

/**
 * `symgen.serverCommand` (array, or a string split on whitespace) if set, else
 * `<symgen.pythonPath or python3> -m symgen_server`.
 */
export function resolveServerCommand(config: ConfigLike, vars: PathVars = {}): ServerCommand {
  const raw = config.get<unknown>("serverCommand");
  let parts: string[] = [];
  if (Array.isArray(raw)) {
    parts = raw.filter((x): x is string => typeof x === "string" && x.trim() !== "");
  } else if (typeof raw === "string") {
    parts = raw.split(/\s+/).filter((x) => x !== "");
  }
  if (parts.length > 0) {
    const [command, ...args] = parts.map((p) => expandPath(p, vars));
    return { command: command as string, args, source: "symgen.serverCommand" };
  }
  const python = config.get<unknown>("pythonPath");
  if (typeof python === "string" && python.trim() !== "") {
    return {
      command: expandPath(python, vars),
      args: ["-m", "symgen_server"],
      source: "symgen.pythonPath",
    };
  }
  return { command: "python3", args: ["-m", "symgen_server"], source: "default" };
}

export function commandLine(cmd: ServerCommand): string {
  return [cmd.command, ...cmd.args].map((p) => (/\s/.test(p) ? JSON.stringify(p) : p)).join(" ");
}

/** The error notification when the server cannot be started or keeps crashing. */
export function startErrorMessage(cmd: ServerCommand, reason: string): string {
  const line = commandLine(cmd);
  const notFound = /ENOENT|not found|No such file/i.test(reason);
  const noModule = /No module named|ModuleNotFoundError/i.test(reason);
  let fix: string;
  if (cmd.source === "symgen.serverCommand") {
    fix = notFound
      ? "Fix the program in the setting symgen.serverCommand (it must exist and be executable)."
      : "Check the setting symgen.serverCommand.";
  } else if (notFound || noModule || cmd.source === "default") {
    fix =
      "Set symgen.pythonPath to a Python that has SymGen installed " +
      "(`pip install -e '.[server]'` in the SymGen repo), or set symgen.serverCommand " +
      "to the symgen-server program.";
  } else {
    fix = "Check that `" + line + "` runs in a terminal.";
  }
  return (
    `SymGen: the language server \`${line}\` could not be started: ${reason}. ${fix} ` +
    "The server log is in the Output panel, channel 'SymGen'."
  );
}

/** Fields of the server's `symgen.status` answer that the client shows. */
export interface ServerStatus {
  ready?: boolean;
  model?: string | null;
  model_name?: string | null;
  database?: string | null;
  latency_p50_ms?: number | null;
  data_files?: number;
  data_pairs?: number;
  jobs?: string[];
  problems?: string[];
  version?: string;
  [key: string]: unknown;
}

export type ClientState = "starting" | "running" | "stopped" | "failed";

function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  return parts.length > 0 ? (parts[parts.length - 1] as string) : path;
}

/** The status-bar text and tooltip for a client state, the last status and running jobs. */
export function statusBarText(
  state: ClientState,
  status: ServerStatus | undefined,
  runningJobs: number,
): { text: string; tooltip: string } {
  if (state === "failed" || state === "stopped") {
    return {
      text: "$(error) SymGen: server not running",
      tooltip: "The SymGen language server is not running: see Output › SymGen",
    };
  }
  if (state === "starting" || status === undefined) {
    return { text: "$(sync~spin) SymGen: starting", tooltip: "Starting the SymGen language server" };
  }
  const model = status.model_name || (status.model ? baseName(status.model) : "");
  const jobs = runningJobs > 0 || (status.jobs?.length ?? 0) > 0;
  let text: string;
  if (jobs) {
    text = `$(sync~spin) SymGen: ${model ? model + " · " : ""}job running`;
  } else if (status.ready) {
    text = `$(check) SymGen: ${model} · ready`;
  } else {
    text = "$(warning) SymGen: no model";
  }
  const lines = [
    `Model: ${status.model ?? "none"}`,
    `Database: ${status.database ?? "none"}`,
    `Training data: ${status.data_files ?? 0} files, ${status.data_pairs ?? 0} pairs`,
  ];
  if (status.latency_p50_ms !== undefined && status.latency_p50_ms !== null) {
    lines.push(`Latency p50: ${status.latency_p50_ms} ms`);
  }
  for (const problem of status.problems ?? []) {
    lines.push(`Problem: ${problem}`);
  }
  lines.push("Click for details");
  return { text, tooltip: lines.join("\n") };
}

/** The status as readable lines for the output channel. */
export function formatStatus(status: ServerStatus): string {
  const skip = new Set(["recent_latencies_ms"]);
  return Object.entries(status)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("\n");
}

export const NO_SELECTION_MESSAGE =
  "SymGen: select one or more examples first: each an NL comment line (-- question) directly " +
  "followed by its SELECT statement ending in ';'. Then run 'Generate Training Data from " +
  "Selection' again.";

export interface LspRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** The server command's arguments for an editor selection, or undefined when it is empty. */
export function selectionArgs(uri: string, range: LspRange): [string, LspRange] | undefined {
  const { start, end } = range;
  if (start.line === end.line && start.character === end.character) {
    return undefined;
  }
  return [uri, range];
}

/**
 * The text to insert for a suggestion at a cursor whose line reads `lineBeforeCursor` up to the
 * cursor. A suggestion that starts with a newline is meant for a cursor at the end of the
 * comment line; on a line with nothing typed yet that newline would only add a blank line.
 */
export function adjustInsertText(lineBeforeCursor: string, insertText: string): string {
  if (lineBeforeCursor.trim() === "" && /^\r?\n/.test(insertText)) {
    return insertText.replace(/^\r?\n/, "");
  }
  return insertText;
}
