-- End-to-end tests of the SymGen plugin in a real headless Neovim against a real server.
--
--   SYMGEN_NVIM_WORKSPACE  workspace with .symgen/models/<model>   (required)
--   SYMGEN_NVIM_QUESTION   a question the test model memorised     (required)
--   SYMGEN_NVIM_CMD        JSON list: how to start the server      (default symgen-server)
--   SYMGEN_NVIM_SETTINGS   JSON object: server settings            (default {})
--   SYMGEN_NVIM_SUITE      "editor" (default), "code" (.sh and .py buffers) or "llm"
--                          (generate data, needs the LLM, slow)
--   SYMGEN_NVIM_OUT        file the "code" suite writes the accepted command to (optional)
--   SYMGEN_NVIM_PY_QUESTION  "code" suite: a request the Python model was trained on
--   SYMGEN_NVIM_PY_OUT     file the "code" suite writes the accepted Python buffer to (optional)
--   SYMGEN_NVIM_SCREEN     file to write the rendered screen of a completion to (optional)
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
package.path = here .. "/?.lua;" .. package.path
local H = require("harness")
local test, eq, ok, wait_for, feed, sleep = H.test, H.eq, H.ok, H.wait_for, H.feed, H.sleep

local env = vim.env
local ws = assert(env.SYMGEN_NVIM_WORKSPACE, "SYMGEN_NVIM_WORKSPACE is required")
local question = assert(env.SYMGEN_NVIM_QUESTION, "SYMGEN_NVIM_QUESTION is required")
local cmd = env.SYMGEN_NVIM_CMD and vim.json.decode(env.SYMGEN_NVIM_CMD) or { "symgen-server" }
local settings = env.SYMGEN_NVIM_SETTINGS and vim.json.decode(env.SYMGEN_NVIM_SETTINGS) or {}
local suite = env.SYMGEN_NVIM_SUITE or "editor"
local TABLES = { "state", "city", "river", "lake", "mountain", "border_info", "highlow", "road" }
local SLOW = 120000 -- first decode loads the model on a busy machine

-- Every notification, so tests can check what the user was told.
local notes = {}
local real_notify = vim.notify
vim.notify = function(msg, level, o)
  notes[#notes + 1] = { msg = tostring(msg), level = level }
  H.log("     notify[" .. tostring(level) .. "]: " .. tostring(msg):gsub("\n", "\n       "))
  return real_notify(msg, level, o)
end
local function noted(pattern)
  for _, n in ipairs(notes) do
    if n.msg:find(pattern) then
      return n
    end
  end
end

vim.o.swapfile = false
vim.o.columns, vim.o.lines = 110, 24
local symgen = require("symgen")
symgen.setup({ cmd = cmd, settings = settings, debounce_ms = 100 })

local function lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local function looks_like_sql(sql)
  if type(sql) ~= "string" or not sql:match("^SELECT ") then
    return false
  end
  for _, t in ipairs(TABLES) do
    if sql:find(t, 1, true) then
      return true
    end
  end
  return false
end

--- A fresh buffer (.sql, .sh, ...) in the workspace with `text` lines, server attached.
local function open_buffer(name, text)
  vim.cmd("silent! %bwipeout!")
  vim.cmd.edit(vim.fn.fnameescape(ws .. "/" .. name))
  vim.api.nvim_buf_set_lines(0, 0, -1, false, text or { "" })
  local buf = vim.api.nvim_get_current_buf()
  wait_for(function()
    local c = symgen.client(buf)
    return c and c.initialized and vim.lsp.buf_is_attached(buf, c.id)
  end, 30000, "the server to attach")
  return buf
end

local function ghost()
  return symgen.ghost_text(0)
end

--- `:checkhealth symgen`'s text, run from a fresh buffer `name` (logged for failures).
local function health_report(name)
  open_buffer(name)
  vim.cmd("checkhealth symgen")
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  H.log("     " .. text:gsub("\n", "\n     "))
  return text
end

--- The ghost text's lines, once the server's suggestion shows.
local function shown_ghost()
  return wait_for(function()
    local g = ghost()
    return #g > 0 and g
  end, SLOW, "ghost text")
end

local function screen(path)
  vim.cmd("redraw!")
  local rows = {}
  for r = 1, vim.o.lines - 1 do
    local cells = {}
    for c = 1, vim.o.columns do
      cells[#cells + 1] = vim.fn.screenstring(r, c)
    end
    rows[#rows + 1] = (table.concat(cells):gsub("%s+$", ""))
  end
  vim.fn.writefile(rows, path)
end

local expected -- the SQL the server suggests for `question` (set by the first test)

if suite == "editor" then
  test("server starts for a .sql buffer in the workspace", function()
    local buf = open_buffer("first.sql")
    eq("sql", vim.bo[buf].filetype, "filetype")
    eq(ws, symgen.client(buf).root_dir, "root_dir")
  end)

  test("typing a comment shows ghost text; <M-l> accepts it", function()
    local buf = open_buffer("q.sql")
    feed("i-- " .. question)
    eq("i", vim.fn.mode(), "still in insert mode")
    local shown = shown_ghost()
    -- Cursor at the end of the comment line: nothing after the cursor, the SQL on a virtual line.
    eq("", shown[1], "virt_text at the cursor")
    eq(2, #shown, "one virtual line")
    expected = shown[2]
    ok(looks_like_sql(expected), "ghost text is SQL on a known table: " .. expected)
    local ns = require("symgen.ghost").ns
    local marks = vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })
    eq(1, #marks, "one extmark")
    eq(0, marks[1][2], "on the comment line")
    eq("SymgenGhost", marks[1][4].virt_lines[1][1][2], "highlight group")
    eq({ "-- " .. question }, lines(), "buffer untouched while ghost text shows")
    if env.SYMGEN_NVIM_SCREEN then
      screen(env.SYMGEN_NVIM_SCREEN)
    end
    feed("<M-l>")
    eq({ "-- " .. question, expected }, lines(), "accepted text")
    eq({ 2, #expected }, vim.api.nvim_win_get_cursor(0), "cursor after the statement")
    eq({}, ghost(), "ghost text gone after accepting")
    eq("i", vim.fn.mode(), "still in insert mode")
    feed("<Esc>")
  end)

  test("typed prefix: ghost shows the rest and <Tab> accepts", function()
    open_buffer("typed.sql", { "-- " .. question, "" })
    vim.api.nvim_win_set_cursor(0, { 2, 0 })
    feed("ASELECT ")
    local shown = shown_ghost()
    eq(expected:sub(#"SELECT " + 1), shown[1], "the untyped rest, after the cursor")
    feed("<Tab>")
    eq({ "-- " .. question, expected }, lines(), "accepted over the typed prefix")
    feed("<Esc>")
  end)

  test("<Tab> is a plain <Tab> when nothing is shown", function()
    open_buffer("tab.sql", { "x" })
    feed("A<Tab>y<Esc>")
    eq({ "x\ty" }, lines())
  end)

  test("nothing is shown for code or a trailing comment", function()
    local code = "SELECT state_name FROM state; -- all of the states here"
    local buf = open_buffer("code.sql", { code, "" })
    local inline = require("symgen.inline")
    for _, pos in ipairs({ { 1, 20 }, { 1, 54 }, { 2, 0 } }) do
      local before = inline.responses[buf] or 0
      vim.api.nvim_win_set_cursor(0, pos)
      ok(symgen.request(buf), "request sent")
      wait_for(function()
        return (inline.responses[buf] or 0) > before
      end, SLOW, "the server's answer")
      eq({}, ghost(), "no ghost text at " .. vim.inspect(pos))
    end
    -- and while typing code in insert mode
    feed("GAWHERE ")
    sleep(1500)
    eq({}, ghost(), "no ghost text while typing code")
    feed("<Esc>")
  end)

  test("<M-e> dismisses; leaving insert mode clears", function()
    open_buffer("dismiss.sql")
    feed("i-- " .. question)
    wait_for(function()
      return #ghost() > 0
    end, SLOW, "ghost text")
    feed("<M-e>")
    eq({}, ghost(), "dismissed")
    feed("<M-\\>") -- ask again by hand
    wait_for(function()
      return #ghost() > 0
    end, SLOW, "ghost text after <M-\\>")
    feed("<Esc>")
    eq({}, ghost(), "cleared on InsertLeave")
    eq({ "-- " .. question }, lines())
  end)

  test("<C-x><C-o> completes the whole statement (below and at the comment)", function()
    open_buffer("omni.sql", { "-- " .. question, "" })
    eq("v:lua.require'symgen.omni'.omnifunc", vim.bo.omnifunc)
    vim.api.nvim_win_set_cursor(0, { 2, 0 })
    feed("A<C-x><C-o>")
    -- A single match is inserted right away (the menu only opens for several).
    wait_for(function()
      return lines()[2] == expected
    end, SLOW, "the statement below the comment")
    feed("<C-y><Esc>")
    eq({ "-- " .. question, expected }, lines(), "below the comment")
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { "-- " .. question })
    feed("A<C-x><C-o>")
    wait_for(function()
      return vim.api.nvim_get_current_line():find(expected, 1, true)
    end, SLOW, "the statement")
    feed("<C-y><Esc>")
    eq({ "-- " .. question, expected }, lines(), "at the end of the comment: on a new line")
  end)

  test("update_settings reaches the server (enabled = false silences it)", function()
    local buf = open_buffer("settings.sql", { "-- " .. question })
    local inline = require("symgen.inline")
    symgen.update_settings({ enabled = false })
    feed("A")
    local before = inline.responses[buf] or 0
    symgen.request(buf)
    wait_for(function()
      return (inline.responses[buf] or 0) > before
    end, SLOW, "the server's answer")
    sleep(1000)
    eq({}, ghost(), "disabled")
    symgen.update_settings({ enabled = true })
    symgen.request(buf)
    wait_for(function()
      return #ghost() > 0
    end, SLOW, "ghost text once enabled again")
    feed("<Esc>")
  end)

  test(":SymgenStatus shows the status readably", function()
    open_buffer("status.sql")
    vim.cmd("SymgenStatus")
    local n = wait_for(function()
      return noted("^SymGen status")
    end, 30000, "the status notification")
    ok(n.msg:find("\n  ready%s+true"), "ready line")
    ok(n.msg:find("\n  database%s+%S*geography.sqlite"), "database line")
    ok(symgen.last_result("symgen.status").ready == true, "ready")
  end)

  test(":SymgenGenerateFromSelection without a usable pair shows the server's message", function()
    open_buffer("nopair.sql", { "-- just a note with no query", "", "SELECT 1;" })
    feed("ggVG:SymgenGenerateFromSelection<CR>")
    local n = wait_for(function()
      return noted("no usable pair")
    end, 30000, "the server's message")
    eq(vim.log.levels.WARN, n.level, "a warning")
    eq(false, symgen.last_result("symgen.generateFromSelection").ok)
    local count = 0
    for _, m in ipairs(notes) do
      count = count + (m.msg:find("no usable pair") and 1 or 0)
    end
    eq(1, count, "said once")
  end)

  test(":checkhealth symgen", function()
    local text = health_report("health.sql")
    ok(text:find("OK Neovim 0%.1"), "version")
    ok(text:find("OK server command"), "executable")
    ok(text:find("OK server running"), "running")
    ok(text:find("OK model"), "model")
    ok(text:find("no bash model: `#` requests in .sh files", 1, true), "no Bash model, said how")
    ok(not text:find("ERROR"), "no errors")
    vim.cmd("bwipeout!")
  end)

  test("a crashing server is reported with the log location; editing goes on", function()
    require("symgen.server").stop_all()
    sleep(500)
    symgen.setup({ cmd = { vim.v.progpath, "--clean", "--headless", "+cquit 3" } })
    vim.cmd.edit(vim.fn.fnameescape(ws .. "/crash.sql"))
    local n = wait_for(function()
      return noted("exited unexpectedly")
    end, 30000, "a crash notification")
    ok(n.msg:find(vim.lsp.get_log_path(), 1, true), "names the log")
    feed("ihello<Esc>")
    eq({ "hello" }, lines())
  end)

  test("a missing server executable is reported with a fix", function()
    symgen.setup({ cmd = { "no-such-symgen-server" } })
    vim.cmd.edit(vim.fn.fnameescape(ws .. "/missing.sql"))
    local n = wait_for(function()
      return noted("not found")
    end, 5000, "a notification")
    ok(n.msg:find("no%-such%-symgen%-server"), "names the executable")
    ok(n.msg:find("cmd = {"), "says how to fix it")
    eq(vim.log.levels.ERROR, n.level)
    feed("ihello<Esc>")
    eq({ "hello" }, lines())
  end)
end

if suite == "code" then
  -- The workspace holds a Bash and a Python model; SYMGEN_NVIM_OUT / SYMGEN_NVIM_PY_OUT receive
  -- the accepted command / Python buffer.
  test("a # comment in a .sh buffer gets a Bash command as ghost text; <M-l> accepts it", function()
    local buf = open_buffer("tool.sh", { "#!/bin/bash", "" })
    eq("sh", vim.bo[buf].filetype, "filetype")
    vim.api.nvim_win_set_cursor(0, { 2, 0 })
    feed("A# " .. question)
    local shown = shown_ghost()
    eq("", shown[1], "virt_text at the cursor")
    eq(2, #shown, "the command on one virtual line")
    ok(shown[2] ~= "" and not shown[2]:match("^#"), "a command, not a comment: " .. shown[2])
    feed("<M-l>")
    eq({ "#!/bin/bash", "# " .. question, shown[2] }, lines(), "accepted below the comment")
    feed("<Esc>")
    if env.SYMGEN_NVIM_OUT then
      vim.fn.writefile({ shown[2] }, env.SYMGEN_NVIM_OUT)
    end
  end)

  test("a # comment in a .py buffer gets a function from the Python model", function()
    local request = assert(env.SYMGEN_NVIM_PY_QUESTION, "SYMGEN_NVIM_PY_QUESTION is required")
    local buf = open_buffer("tool.py")
    eq("python", vim.bo[buf].filetype, "filetype")
    feed("i# " .. request)
    local shown = shown_ghost()
    eq("", shown[1], "virt_text at the cursor")
    ok(#shown >= 3 and shown[2]:match("^def "), "a function below the comment: " .. vim.inspect(shown))
    feed("<M-l>")
    eq(#shown, #lines(), "every line accepted")
    feed("<Esc>")
    if env.SYMGEN_NVIM_PY_OUT then
      vim.fn.writefile(lines(), env.SYMGEN_NVIM_PY_OUT)
    end
  end)

  test(":checkhealth symgen names the code models", function()
    local text = health_report("health.sh")
    ok(text:find("OK bash model: " .. ws, 1, true), "the Bash model's directory")
    ok(text:find("OK python model: " .. ws, 1, true), "the Python model's directory")
    ok(not text:find("ERROR"), "no errors")
    vim.cmd("bwipeout!")
  end)

  test("the shebang line is not a request", function()
    local buf = open_buffer("shebang.sh", { "#!/bin/bash" })
    local inline = require("symgen.inline")
    local before = inline.responses[buf] or 0
    vim.api.nvim_win_set_cursor(0, { 1, 11 })
    ok(symgen.request(buf), "request sent")
    wait_for(function()
      return (inline.responses[buf] or 0) > before
    end, SLOW, "the server's answer")
    eq({}, ghost(), "no ghost text")
  end)
end

if suite == "llm" then
  test(":SymgenGenerateFromSelection on a visual range writes verified data", function()
    local seeds = vim.json.decode(env.SYMGEN_NVIM_SEEDS or "[]")
    ok(#seeds > 0, "SYMGEN_NVIM_SEEDS lists example pairs")
    local text = {}
    for _, p in ipairs(seeds) do
      vim.list_extend(text, { "-- " .. p.question, p.query, "" })
    end
    open_buffer("examples.sql", text)
    vim.cmd("silent write")
    feed("ggV" .. (#text - 1) .. "j:SymgenGenerateFromSelection<CR>")
    wait_for(function()
      local p = symgen.progress_state()
      return p and p.kind == "end" and p
    end, 900000, "the job's progress end")
    local result = wait_for(function()
      return symgen.last_result("symgen.generateFromSelection")
    end, 30000, "the command's result")
    H.log("     result: " .. vim.inspect(result))
    eq(true, result.ok, "ok")
    eq(#seeds, result.pairs, "pairs read from the selection")
    local kinds = {}
    for _, p in ipairs(require("symgen.progress").history) do
      kinds[#kinds + 1] = p.kind
    end
    eq("begin", kinds[1], "progress begins")
    ok(vim.tbl_contains(kinds, "report"), "progress reports")
    eq("end", kinds[#kinds], "progress ends")
    ok(symgen.progress_state().message:find("done"), "end message says done")
    eq(vim.fs.normalize(ws .. "/.symgen/data"), vim.fs.dirname(result.out), "data dir")
    eq(1, vim.fn.filereadable(result.out), "data file exists")
    ok(noted("verified pairs in"), "the server's summary was shown")
  end)
end

H.run(tonumber(env.SYMGEN_NVIM_TIMEOUT_MS or "") or 1200000)
