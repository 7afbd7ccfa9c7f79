// End-to-end test of the extension in real VS Code: code-server (VS Code 1.139 in the browser)
// driven by playwright-core in Debian's headless Chromium.
//
// It installs the .vsix into a fresh code-server, opens the workspace's .sql file, waits for the
// status bar to say the model is ready, types a trained question + Enter, waits for ghost text,
// takes a screenshot, accepts it with Tab and checks that the saved file has the SQL. It also
// checks Show Status and the no-selection message; with SYMGEN_E2E_BASH_QUESTION, the same for
// a `#` request in a .sh file (the Bash model). With SYMGEN_E2E_LLM=1 it then runs
// "SymGen: Generate Training Data from Selection" on example pairs (a real LLM: minutes),
// waits for the data file, and cancels a second run with the progress notification's Cancel
// button. Every process it starts is stopped, also on failure.
//
// Environment:
//   SYMGEN_E2E_WORKSPACE  workspace dir (with .symgen/models/<m>; the test writes .vscode/)
//   SYMGEN_E2E_QUESTION   a question the model was trained on
//   SYMGEN_E2E_PYTHON     Python with symgen_server installed (symgen.pythonPath)
//   SYMGEN_E2E_DB         SQLite database (symgen.database)
//   SYMGEN_E2E_VSIX       the extension package (default: ../symgen.vsix)
//   SYMGEN_E2E_SCREENSHOT where to save the ghost-text screenshot (default: ../screenshot.png)
//   SYMGEN_E2E_LLM=1      also run the data-generation part (needs the generator model)
//   SYMGEN_E2E_EXAMPLES   file name in the workspace with example pairs (default examples.sql)
//   SYMGEN_E2E_SETTINGS   extra symgen settings as JSON (e.g. {"generateQuestions": 3})
//   CODE_SERVER           code-server entry (default: .tools/code-server/.../entry.js)
//   CHROMIUM              browser binary (default: /usr/bin/chromium)
//   SYMGEN_E2E_TIMEOUT_S  overall limit (default 900)
//   SYMGEN_E2E_BASH_QUESTION  a request the workspace's Bash model was trained on: also type it
//                         as a `#` comment in a .sh file and accept the command (optional)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(HERE, "..");
const env = process.env;
const WORKSPACE = mustEnv("SYMGEN_E2E_WORKSPACE");
const QUESTION = mustEnv("SYMGEN_E2E_QUESTION");
const PYTHON = mustEnv("SYMGEN_E2E_PYTHON");
const DB = mustEnv("SYMGEN_E2E_DB");
const VSIX = env.SYMGEN_E2E_VSIX ?? path.join(EXT_DIR, "symgen.vsix");
const SCREENSHOT = env.SYMGEN_E2E_SCREENSHOT ?? path.join(EXT_DIR, "screenshot.png");
const LLM = env.SYMGEN_E2E_LLM === "1";
const EXAMPLES = env.SYMGEN_E2E_EXAMPLES ?? "examples.sql";
const EXTRA_SETTINGS = JSON.parse(env.SYMGEN_E2E_SETTINGS ?? "{}");
const CODE_SERVER =
  env.CODE_SERVER ??
  path.join(EXT_DIR, ".tools/code-server/node_modules/code-server/out/node/entry.js");
const CHROMIUM = env.CHROMIUM ?? "/usr/bin/chromium";
const TIMEOUT_S = Number(env.SYMGEN_E2E_TIMEOUT_S ?? 900);
const SQL_FILE = "queries.sql";
const BASH_QUESTION = env.SYMGEN_E2E_BASH_QUESTION;
const SH_FILE = "tool.sh";

const started = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

function mustEnv(name) {
  const value = env[name];
  if (!value) {
    console.error(`e2e: set ${name} (see the header of test/e2e.mjs)`);
    process.exit(2);
  }
  return value;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last}` : ""}`);
}

// ---- processes we start, stopped in `finally` --------------------------------------------
const children = [];
function startChild(cmd, args, logFile) {
  const out = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", out, out], env: childEnv() });
  fs.closeSync(out);
  children.push(child);
  return child;
}
function childEnv() {
  // code-server's node is this node (24); the server runs from SYMGEN_E2E_PYTHON
  const e = { ...env, PATH: `${path.dirname(process.execPath)}:${env.PATH ?? ""}` };
  for (const key of Object.keys(e)) if (key.startsWith("VSCODE_")) delete e[key];
  return e;
}
async function stopChildren() {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, "SIGTERM"); // the whole group: code-server, ext host, server
    } catch {
      /* already gone */
    }
  }
  await sleep(1500);
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

// ---- the workbench ------------------------------------------------------------------------
async function runCommand(page, label) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 20_000 });
  await input.fill(`>${label}`);
  const row = page.locator(".quick-input-list .monaco-list-row.focused", { hasText: label }).first();
  await row.waitFor({ state: "visible", timeout: 20_000 });
  await page.keyboard.press("Enter");
}

async function openFile(page, name) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 20_000 });
  await input.fill(name);
  // the focused (first) row must be our file: right after typing, the list may still show history
  const row = page.locator(".quick-input-list .monaco-list-row.focused", { hasText: name }).first();
  await row.waitFor({ state: "visible", timeout: 20_000 });
  await page.keyboard.press("Enter");
  await page
    .locator(".tab.active", { hasText: name })
    .first()
    .waitFor({ state: "visible", timeout: 20_000 });
  await page.locator(".part.editor .monaco-editor .view-lines").first().click();
}

const GHOST = ".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text";

// Ghost text shows by itself after Enter; if not within a minute, ask for it (Alt+\).
async function waitForGhost(page) {
  const ghost = page.locator(GHOST).first();
  try {
    await ghost.waitFor({ state: "visible", timeout: 60_000 });
  } catch {
    log("no ghost text yet: triggering inline suggestions explicitly (Alt+\\)");
    await page.keyboard.press("Alt+Backslash");
    await ghost.waitFor({ state: "visible", timeout: 60_000 });
  }
}

function statusItem(page) {
  return page.locator(".statusbar-item", { hasText: "SymGen" }).first();
}

async function notificationWith(page, text, timeoutMs) {
  const toast = page.locator(".notification-toast", { hasText: text }).first();
  await toast.waitFor({ state: "visible", timeout: timeoutMs });
  return toast;
}

async function clearNotifications(page) {
  await runCommand(page, "Notifications: Clear All Notifications").catch(() => undefined);
  await page.keyboard.press("Escape");
}

function outputLogs(userData) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/SymGen|exthost|remoteagent/i.test(entry.name) && entry.name.endsWith(".log")) found.push(p);
    }
  };
  walk(path.join(userData, "logs"));
  return found;
}

let passed = false;

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "symgen-vscode-e2e-"));
  const userData = path.join(tmp, "user-data");
  const extensions = path.join(tmp, "extensions");
  const browserProfile = path.join(tmp, "chromium");
  const csLog = path.join(tmp, "code-server.log");
  const config = path.join(tmp, "config.yaml");
  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  fs.writeFileSync(config, "auth: none\ncert: false\n");
  fs.writeFileSync(
    path.join(userData, "User", "settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "telemetry.telemetryLevel": "off",
        "extensions.ignoreRecommendations": true,
        "extensions.autoUpdate": false,
        "security.workspace.trust.enabled": false,
        "editor.inlineSuggest.enabled": true,
        "editor.wordBasedSuggestions": "off",
        "editor.autoClosingBrackets": "never",
        "editor.autoClosingQuotes": "never",
        "editor.acceptSuggestionOnEnter": "off",
        "chat.disableAIFeatures": true,
        "window.commandCenter": false,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
      },
      null,
      2,
    ),
  );
  // the workspace: settings, the file we type into, the example pairs
  fs.mkdirSync(path.join(WORKSPACE, ".vscode"), { recursive: true });
  fs.writeFileSync(
    path.join(WORKSPACE, ".vscode", "settings.json"),
    JSON.stringify(
      { "symgen.pythonPath": PYTHON, "symgen.database": DB, ...EXTRA_SETTINGS },
      null,
      2,
    ),
  );
  const sqlPath = path.join(WORKSPACE, SQL_FILE);
  fs.writeFileSync(sqlPath, "-- SymGen end-to-end test\nSELECT 1;\n\n");
  const shPath = path.join(WORKSPACE, SH_FILE);
  fs.writeFileSync(shPath, "#!/bin/bash\n");

  log(`installing ${VSIX}`);
  const install = spawnSync(
    process.execPath,
    [CODE_SERVER, "--user-data-dir", userData, "--extensions-dir", extensions, "--config", config,
      "--install-extension", VSIX, "--force"],
    { encoding: "utf8", env: childEnv(), timeout: 180_000 },
  );
  if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
    throw new Error(`code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  log(`starting code-server on ${base}`);
  const cs = startChild(
    process.execPath,
    [CODE_SERVER, "--config", config, "--auth", "none", "--disable-telemetry",
      "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override",
      "--reconnection-grace-time", "10", "--bind-addr", `127.0.0.1:${port}`,
      "--user-data-dir", userData, "--extensions-dir", extensions, WORKSPACE],
    csLog,
  );
  await waitFor("code-server /healthz", async () => {
    if (cs.exitCode !== null) throw new Error(`code-server exited: ${fs.readFileSync(csLog, "utf8")}`);
    const res = await fetch(`${base}/healthz`).catch(() => undefined);
    return res?.ok;
  }, 120_000, 500);

  let context;
  let page;
  try {
    log("starting chromium");
    context = await chromium.launchPersistentContext(browserProfile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 800 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (err) => log(`page error: ${err.message}`));
    await page.goto(`${base}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 120_000 });
    await page.locator(".statusbar").waitFor({ state: "visible", timeout: 120_000 });
    log("workbench up; opening the .sql file");
    await sleep(2000); // let the workbench restore before keystrokes
    await openFile(page, SQL_FILE);

    log("waiting for the language client to be ready (status bar)");
    await waitFor("status bar 'ready'", async () => {
      const text = await statusItem(page).textContent({ timeout: 1000 }).catch(() => "");
      if (/not running/.test(text ?? "")) throw new Error(`status bar: ${text}`);
      return /ready/.test(text ?? "");
    }, 180_000, 500);
    log(`status bar: ${(await statusItem(page).textContent())?.trim()}`);

    // Show Status: a notification with the model and database
    await runCommand(page, "SymGen: Show Status");
    await notificationWith(page, "SymGen: ready", 30_000);
    log("Show Status ok");
    await clearNotifications(page);

    // type the question at the end of the file, then Enter → ghost text on the new line
    await page.locator(".part.editor .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type(`-- ${QUESTION}`, { delay: 15 });
    await page.keyboard.press("Enter");
    log("typed the question; waiting for ghost text");
    await waitForGhost(page);
    const ghostText = (await page.locator(GHOST).allTextContents()).join("");
    log(`ghost text: ${ghostText.replace(/\s+/g, " ").trim()}`);
    await page.screenshot({ path: SCREENSHOT });
    log(`screenshot: ${SCREENSHOT}`);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Control+S");
    const saved = await waitFor("the SQL in the saved file", () => {
      const text = fs.readFileSync(sqlPath, "utf8");
      const after = text.split(`-- ${QUESTION}`)[1] ?? "";
      return /^\r?\nSELECT\s.+/i.test(after) ? text : undefined;
    }, 20_000);
    log(`buffer after Tab:\n${saved}`);

    if (BASH_QUESTION) {
      await acceptShellCommand(page, shPath);
    }

    // no selection → a message saying what to select
    await clearNotifications(page);
    await page.keyboard.press("Control+End");
    await runCommand(page, "SymGen: Generate Training Data from Selection");
    await notificationWith(page, "select one or more examples", 20_000);
    log("no-selection message ok");
    await clearNotifications(page);

    if (LLM) {
      await generateFromSelection(page);
    }

    // a broken server command: a clear error with the fix, and the editor keeps working
    const settingsFile = path.join(WORKSPACE, ".vscode", "settings.json");
    const good = fs.readFileSync(settingsFile, "utf8");
    fs.writeFileSync(
      settingsFile,
      JSON.stringify({ ...JSON.parse(good), "symgen.pythonPath": "/nonexistent/bin/python" }, null, 2),
    );
    const error = await notificationWith(page, "could not be started", 60_000);
    const errorText = await error.locator(".notification-list-item-message").innerText();
    log(`error notification: ${errorText.trim()}`);
    if (!/symgen\.pythonPath/.test(errorText) || !/Output/.test(errorText)) {
      throw new Error(`the error must name the setting and the log: ${errorText}`);
    }
    await waitFor("status bar 'not running'", async () =>
      /not running/.test((await statusItem(page).textContent()) ?? ""), 30_000);
    await openFile(page, SQL_FILE);
    await page.keyboard.press("Control+End");
    await page.keyboard.type("SELECT 42;", { delay: 10 });
    await page.keyboard.press("Control+S");
    await waitFor("typing still works", () => fs.readFileSync(sqlPath, "utf8").includes("SELECT 42;"), 20_000);
    fs.writeFileSync(settingsFile, good);
    log("broken-server path ok");
    log("PASS");
    passed = true;
  } catch (error) {
    if (page) {
      const failShot = path.join(tmp, "failure.png");
      await page.screenshot({ path: failShot }).catch(() => undefined);
      console.error(`failure screenshot: ${failShot}`);
    }
    console.error(`--- code-server log (tail) ---\n${tail(csLog, 60)}`);
    for (const file of outputLogs(userData)) {
      console.error(`--- ${file} (tail) ---\n${tail(file, 60)}`);
    }
    throw error;
  } finally {
    await context?.close().catch(() => undefined);
    await stopChildren();
    if (passed) fs.rmSync(tmp, { recursive: true, force: true }); // kept on failure, to look at
  }
}

// A `#` request in a .sh file (VS Code's "shellscript"): the Bash model's command as ghost text,
// accepted with Tab on the line below the comment.
async function acceptShellCommand(page, shPath) {
  await openFile(page, SH_FILE);
  await page.keyboard.press("Control+End");
  await page.keyboard.type(`# ${BASH_QUESTION}`, { delay: 15 });
  await page.keyboard.press("Enter");
  log("typed the shell request; waiting for ghost text");
  await waitForGhost(page);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Control+S");
  const saved = await waitFor("the command in the saved .sh file", () => {
    const after = fs.readFileSync(shPath, "utf8").split(`# ${BASH_QUESTION}`)[1] ?? "";
    return /^\r?\n[^#\s].*/.test(after) ? after : undefined;
  }, 20_000);
  log(`shell command accepted: ${saved.trim()}`);
  await openFile(page, SQL_FILE);
}

async function generateFromSelection(page) {
  const dataDir = path.join(WORKSPACE, ".symgen", "data");
  const outputs = () =>
    (fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []).filter(
      (f) => f.endsWith(".jsonl") && !/\.(seeds|questions|rejected)\.jsonl$/.test(f),
    );
  const before = outputs().length;
  await openFile(page, EXAMPLES);
  await page.keyboard.press("Control+A");
  log("running Generate Training Data from Selection (LLM, minutes)");
  await runCommand(page, "SymGen: Generate Training Data from Selection");
  const progress = await notificationWith(page, "generating data", 60_000);
  log(`progress notification: ${(await progress.locator(".notification-list-item-message").innerText()).trim()}`);
  await waitFor("status bar 'job running'", async () =>
    /job running/.test((await statusItem(page).textContent()) ?? ""), 30_000);
  const made = await waitFor("a data file in .symgen/data", () => outputs().length > before && outputs(), 15 * 60_000, 2000);
  log(`data files: ${made.join(", ")}`);
  // the file appears when the job starts writing; the toast only when the LLM is done, which on
  // a loaded 2-core machine can take minutes more
  await notificationWith(page, "verified pairs", 10 * 60_000);
  await clearNotifications(page);

  // a second run, cancelled from the notification's Cancel button
  await page.locator(".part.editor .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+A");
  const files = fs.readdirSync(dataDir).sort();
  await runCommand(page, "SymGen: Generate Training Data from Selection");
  const toast = await notificationWith(page, "generating data", 60_000);
  await sleep(3000); // let the job's child process start
  await toast.hover();
  await toast.locator(".monaco-button", { hasText: "Cancel" }).first().click();
  log("clicked Cancel on the progress notification");
  await notificationWith(page, "cancelled", 120_000);
  await waitFor("no partial files after cancel", () =>
    JSON.stringify(fs.readdirSync(dataDir).sort()) === JSON.stringify(files), 30_000);
  log("cancel ok: window/workDoneProgress/cancel stopped the job, nothing kept");
}

function tail(file, n) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-n).join("\n");
  } catch {
    return "(none)";
  }
}

const timer = setTimeout(async () => {
  console.error(`e2e: overall timeout of ${TIMEOUT_S}s`);
  await stopChildren();
  process.exit(1);
}, TIMEOUT_S * 1000);

let code = 0;
try {
  await main();
} catch (error) {
  console.error(`e2e FAILED: ${error?.stack ?? error}`);
  code = 1;
} finally {
  await stopChildren();
  clearTimeout(timer);
}
process.exit(code);
