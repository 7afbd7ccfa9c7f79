-- :Symgen* user commands: thin wrappers around the server's workspace/executeCommand.
local server = require("symgen.server")

local M = {}

M.results = {} ---@type table<string, any> server command -> its last result (for tests)

--- Run a server command; on_done(result) gets the decoded answer.
---@param name string e.g. "symgen.status"
---@param args any[]|nil
---@param on_done fun(result: any)|nil
---@param bufnr integer|nil
---@return boolean sent
function M.execute(name, args, on_done, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = server.client(bufnr)
  if not client then
    vim.notify(
      "SymGen: no server is running. Open a file of a configured filetype ("
        .. table.concat(require("symgen.config").options.filetypes, ", ")
        .. ") or see :checkhealth symgen",
      vim.log.levels.ERROR
    )
    return false
  end
  local params = { command = name, arguments = args or {} }
  local ok = client:request("workspace/executeCommand", params, function(err, result)
    if err then
      M.results[name] = { ok = false, error = err.message }
      vim.notify(("SymGen: %s failed: %s; %s"):format(name, err.message, server.log_hint()),
        vim.log.levels.ERROR)
      return
    end
    M.results[name] = result
    if on_done then
      on_done(result)
    end
  end, bufnr)
  return ok == true
end

--- Say a failed result's error unless the server already showed it (window/showMessage).
local function report_error(result)
  if type(result) == "table" and result.ok == false and result.error then
    if not server.recently_shown(result.error) then
      vim.notify(result.error, vim.log.levels.WARN)
    end
  end
end

--- The status dict as aligned "key: value" lines.
---@param status table
---@return string
function M.format_status(status)
  local keys = vim.tbl_keys(status)
  table.sort(keys)
  local width = 0
  for _, k in ipairs(keys) do
    width = math.max(width, #k)
  end
  local lines = { "SymGen status" }
  for _, k in ipairs(keys) do
    local v = status[k]
    if type(v) == "table" then
      v = vim.inspect(v, { newline = " ", indent = "" })
    elseif v == vim.NIL then
      v = "-"
    end
    lines[#lines + 1] = ("  %-" .. width .. "s  %s"):format(k, tostring(v))
  end
  return table.concat(lines, "\n")
end

function M.status()
  M.execute("symgen.status", nil, function(result)
    vim.notify(M.format_status(result or {}), vim.log.levels.INFO)
  end)
end

function M.reload()
  M.execute("symgen.reloadModel", nil, function(result)
    vim.notify("SymGen: reloaded\n" .. M.format_status(result or {}), vim.log.levels.INFO)
  end)
end

function M.train()
  M.execute("symgen.train", nil, report_error)
end

function M.cancel()
  local client = server.client()
  if client then -- both ways: the progress token (LSP) and the server's own command
    for _, token in ipairs(require("symgen.progress").active_tokens()) do
      client:notify("window/workDoneProgress/cancel", { token = token })
    end
  end
  M.execute("symgen.cancelJobs", nil, function(result)
    vim.notify(("SymGen: cancelled %d job(s)"):format(result and result.cancelled or 0))
  end)
end

--- Lines line1..line2 (1-based, inclusive) of the buffer as an LSP Range, ending at the start of
--- the next line (or the end of the last line).
---@param bufnr integer
---@param line1 integer
---@param line2 integer
---@param encoding string
---@return table
function M.lines_range(bufnr, line1, line2, encoding)
  local count = vim.api.nvim_buf_line_count(bufnr)
  local finish
  if line2 < count then
    finish = { line = line2, character = 0 }
  else
    local last = vim.api.nvim_buf_get_lines(bufnr, count - 1, count, false)[1] or ""
    finish = { line = count - 1, character = vim.str_utfindex(last, encoding, #last, false) }
  end
  return { start = { line = line1 - 1, character = 0 }, ["end"] = finish }
end

---@param line1 integer
---@param line2 integer
function M.generate_from_selection(line1, line2)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = server.client(bufnr)
  local encoding = client and client.offset_encoding or "utf-16"
  local range = M.lines_range(bufnr, line1, line2, encoding)
  M.execute("symgen.generateFromSelection", { vim.uri_from_bufnr(bufnr), range }, function(result)
    report_error(result)
  end, bufnr)
end

function M.create()
  local cmd = vim.api.nvim_create_user_command
  cmd("SymgenGenerateFromSelection", function(o)
    M.generate_from_selection(o.line1, o.line2)
  end, {
    range = "%",
    desc = "SymGen: generate training data from the selected (-- question / SELECT ...;) pairs",
  })
  cmd("SymgenTrain", M.train, { desc = "SymGen: train a model on .symgen/data" })
  cmd("SymgenReload", M.reload, { desc = "SymGen: reload the model" })
  cmd("SymgenStatus", M.status, { desc = "SymGen: show the server status" })
  cmd("SymgenCancel", M.cancel, { desc = "SymGen: cancel running jobs" })
  cmd("SymgenLog", function()
    vim.cmd.split(vim.fn.fnameescape(vim.lsp.get_log_path()))
  end, { desc = "SymGen: open Neovim's LSP log (server errors land there)" })
  cmd("SymgenRestart", function()
    require("symgen").restart()
  end, { desc = "SymGen: restart the server" })
end

return M
