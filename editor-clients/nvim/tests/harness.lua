-- A tiny test harness that runs inside a real, headless Neovim.
--
-- Tests run as coroutines, so waiting hands control back to Neovim's main loop: keys fed with
-- feed() are then typed for real (insert mode, mappings, autocmds) while the test waits.
local H = {}

local tests = {}
local passed, failed = 0, 0
local current ---@type {name: string, co: thread}|nil
local started = vim.uv.hrtime()

local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end
H.log = out

---@param name string
---@param fn fun()
function H.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

local function fmt(v)
  return type(v) == "string" and string.format("%q", v) or vim.inspect(v)
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    local label = what and (what .. ": ") or ""
    error(("%sexpected %s, got %s"):format(label, fmt(expected), fmt(actual)), 2)
  end
end

function H.ok(cond, what)
  if not cond then
    error("not ok: " .. (what or "?"), 2)
  end
  return cond
end

local run_next

local function finish(ok, err)
  local t = current
  current = nil
  if ok then
    passed = passed + 1
    out("ok   - " .. t.name)
  else
    failed = failed + 1
    out("FAIL - " .. t.name .. "\n" .. tostring(err))
  end
  -- Leave insert mode and close extra windows so one test does not leak into the next.
  vim.schedule(function()
    pcall(vim.cmd, "stopinsert")
    run_next()
  end)
end

local function resume(...)
  if not current then
    return
  end
  local co = current.co
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    finish(false, debug.traceback(co, err))
  elseif coroutine.status(co) == "dead" then
    finish(true)
  end
end

--- Let Neovim run for `ms` milliseconds (typeahead, timers, LSP messages).
function H.sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

--- Poll `cond` until it returns a truthy value (returned) or `timeout_ms` passes (error).
function H.wait_for(cond, timeout_ms, what)
  local deadline = vim.uv.now() + (timeout_ms or 5000)
  while true do
    local ok, v = pcall(cond)
    if ok and v then
      return v
    end
    if vim.uv.now() > deadline then
      local last = ok and "" or (" (last error: " .. tostring(v) .. ")")
      local waited = timeout_ms or 5000
      error(("timed out after %d ms waiting for %s%s"):format(waited, what or "it", last), 2)
    end
    H.sleep(50)
  end
end

--- Type keys as a user would (mappings apply), then let Neovim process them.
function H.feed(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), "m", false)
  H.sleep(30)
end

run_next = function()
  local t = table.remove(tests, 1)
  if not t then
    out(("%d passed, %d failed (%.1f s)"):format(passed, failed, (vim.uv.hrtime() - started) / 1e9))
    vim.schedule(function()
      if failed > 0 then
        vim.cmd("cquit " .. failed)
      else
        vim.cmd("qall!")
      end
    end)
    return
  end
  out("...  " .. t.name)
  current = { name = t.name, co = coroutine.create(t.fn) }
  resume()
end

--- Run the registered tests; `timeout_ms` bounds the whole run.
function H.run(timeout_ms)
  vim.defer_fn(function()
    out(("TIMEOUT after %d ms%s"):format(timeout_ms, current and (" in " .. current.name) or ""))
    out(("%d passed, %d failed"):format(passed, failed + 1))
    vim.cmd("cquit 99")
  end, timeout_ms)
  vim.schedule(run_next)
end

return H
