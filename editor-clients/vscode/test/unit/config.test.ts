import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  adjustInsertText,
  type ConfigLike,
  expandPath,
  resolveServerCommand,
  selectionArgs,
  settingsToInitOptions,
  startErrorMessage,
  statusBarText,
} from "../../src/config";

function config(values: Record<string, unknown>): ConfigLike {
  return { get: <T>(key: string): T | undefined => values[key] as T | undefined };
}

describe("settingsToInitOptions", () => {
  it("maps every server setting, camelCase, and leaves client-only ones out", () => {
    const got = settingsToInitOptions(
      config({
        serverCommand: ["x"],
        pythonPath: "/venv/bin/python",
        model: "/m",
        pythonModel: "/py",
        bashModel: "/sh",
        database: "/db.sqlite",
        enabled: false,
        debounceMs: 50,
        maxTokens: 100,
        beamSize: 2,
        executionGuided: false,
        groundLiterals: "constrain",
        threads: 2,
        commentPrefixes: ["sql:"],
        format: "pretty",
        generateQuestions: 3,
        samples: 4,
        minVotes: "2",
        trainMinutes: 5,
        generator: "qwen2.5-coder-1.5b",
        arch: "tiny",
      }),
    );
    assert.deepEqual(got, {
      model: "/m",
      pythonModel: "/py",
      bashModel: "/sh",
      database: "/db.sqlite",
      enabled: false,
      debounceMs: 50,
      maxTokens: 100,
      beamSize: 2,
      executionGuided: false,
      groundLiterals: "constrain",
      threads: 2,
      commentPrefixes: ["sql:"],
      format: "pretty",
      generateQuestions: 3,
      samples: 4,
      minVotes: "2",
      trainMinutes: 5,
      generator: "qwen2.5-coder-1.5b",
      arch: "tiny",
    });
  });

  it("omits unset keys so the server keeps its defaults", () => {
    assert.deepEqual(settingsToInitOptions(config({})), {});
    assert.deepEqual(
      settingsToInitOptions(config({ format: "", minVotes: "", groundLiterals: "", generator: "" })),
      {},
    );
  });

  it("sends minVotes as a string and a single prefix as a list", () => {
    const got = settingsToInitOptions(config({ minVotes: 3, commentPrefixes: "sql:" }));
    assert.deepEqual(got, { minVotes: "3", commentPrefixes: ["sql:"] });
  });

  it("passes wrong types through for the server to report", () => {
    const got = settingsToInitOptions(config({ beamSize: "lots", enabled: "yes" }));
    assert.deepEqual(got, { beamSize: "lots", enabled: "yes" });
  });

  it("expands ${workspaceFolder} and ~ in paths", () => {
    const got = settingsToInitOptions(
      config({ database: "${workspaceFolder}/geo.sqlite", model: "~/models/m" }),
      { workspaceFolder: "/ws", home: "/home/u" },
    );
    assert.deepEqual(got, { database: "/ws/geo.sqlite", model: "/home/u/models/m" });
    assert.equal(expandPath("~other/x", { home: "/h" }), "~other/x");
  });
});

describe("resolveServerCommand", () => {
  it("defaults to python3 -m symgen_server", () => {
    assert.deepEqual(resolveServerCommand(config({})), {
      command: "python3",
      args: ["-m", "symgen_server"],
      source: "default",
    });
  });

  it("uses symgen.pythonPath", () => {
    const got = resolveServerCommand(config({ pythonPath: "/v/bin/python", serverCommand: [] }));
    assert.deepEqual(got, {
      command: "/v/bin/python",
      args: ["-m", "symgen_server"],
      source: "symgen.pythonPath",
    });
  });

  it("prefers symgen.serverCommand (array or string)", () => {
    const arr = resolveServerCommand(
      config({ serverCommand: ["/v/bin/symgen-server", "--db", "x"], pythonPath: "/p" }),
    );
    assert.deepEqual(arr, {
      command: "/v/bin/symgen-server",
      args: ["--db", "x"],
      source: "symgen.serverCommand",
    });
    const str = resolveServerCommand(config({ serverCommand: " symgen-server  --x " }));
    assert.deepEqual(str.command, "symgen-server");
    assert.deepEqual(str.args, ["--x"]);
  });
});

describe("messages", () => {
  it("tells the fix and where the log is when the server is missing", () => {
    const msg = startErrorMessage(
      resolveServerCommand(config({})),
      "spawn python3 ENOENT",
    );
    assert.match(msg, /python3 -m symgen_server/);
    assert.match(msg, /symgen\.pythonPath/);
    assert.match(msg, /Output panel, channel 'SymGen'/);
    const custom = startErrorMessage(
      resolveServerCommand(config({ serverCommand: ["/nope"] })),
      "spawn /nope ENOENT",
    );
    assert.match(custom, /symgen\.serverCommand/);
  });

  it("status bar shows model and state", () => {
    assert.match(statusBarText("starting", undefined, 0).text, /starting/);
    assert.match(statusBarText("failed", undefined, 0).text, /not running/);
    const ready = statusBarText("running", { ready: true, model: "/ws/.symgen/models/geo" }, 0);
    assert.equal(ready.text, "$(check) SymGen: geo · ready");
    assert.match(ready.tooltip, /Model: \/ws\/.symgen\/models\/geo/);
    assert.match(statusBarText("running", { ready: false, model: null }, 0).text, /no model/);
    assert.match(statusBarText("running", { ready: true, model: "/m/geo" }, 1).text, /job running/);
    assert.match(
      statusBarText("running", { ready: true, model: "/m/geo", jobs: ["train"] }, 0).text,
      /job running/,
    );
  });

  it("an empty selection gives no arguments", () => {
    const p = { line: 3, character: 1 };
    assert.equal(selectionArgs("file:///a.sql", { start: p, end: p }), undefined);
    const range = { start: { line: 0, character: 0 }, end: p };
    assert.deepEqual(selectionArgs("file:///a.sql", range), ["file:///a.sql", range]);
  });
});

describe("adjustInsertText", () => {
  it("drops the leading newline when the cursor is already on a fresh line", () => {
    assert.equal(adjustInsertText("", "\nSELECT 1;"), "SELECT 1;");
    assert.equal(adjustInsertText("   ", "\r\nSELECT 1;"), "SELECT 1;");
  });
  it("keeps it at the end of the comment line, and leaves other text alone", () => {
    assert.equal(adjustInsertText("-- the capital of texas", "\nSELECT 1;"), "\nSELECT 1;");
    assert.equal(adjustInsertText("", "SELECT 1;"), "SELECT 1;");
  });
});
