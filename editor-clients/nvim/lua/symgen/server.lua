-- Starting the language server for a buffer, finding its client, and reporting failures.
local config = require("symgen.config")

local M = {}

M.name = "symgen"
local warned_missing = false
local stopping = {} -- client ids we stopped on purpose (their exit is not a crash)
-- window/showMessage texts, newest last
M.messages = {} ---@type {text: string, level: integer, time: number}[]

local L = vim.log.levels
local LEVELS = { L.ERROR, L.WARN, L.INFO, L.DEBUG } -- indexed by LSP MessageType

--- window/showMessage: notify, and remember it so command results do not say it twice.
local function show_message(_, params)
  local level = LEVELS[params.type] or vim.log.levels.INFO
  table.insert(M.messages, { text = params.message, level = level, time = vim.uv.now() })
  if #M.messages > 50 then
    table.remove(M.messages, 1)
  end
  vim.notify(params.message, level)
  return vim.NIL
end

--- Was this text shown by the server in the last `ms` milliseconds?
---@param text string
---@param ms integer|nil
function M.recently_shown(text, ms)
  local since = vim.uv.now() - (ms or 10000)
  for i = #M.messages, 1, -1 do
    local m = M.messages[i]
    if m.time < since then
      break
    end
    if m.text == text then
      return true
    end
  end
  return false
end

--- Where to read about failures: Neovim's LSP log (server stderr is logged there).
function M.log_hint()
  return "see the LSP log: " .. vim.lsp.get_log_path() .. " (:SymgenLog)"
end

--- Is cmd[1] runnable? Returns ok, message-with-a-fix.
---@param cmd string[]
---@return boolean, string|nil
function M.check_cmd(cmd)
  local exe = cmd and cmd[1]
  if type(exe) ~= "string" or exe == "" then
    return false, "SymGen: setup({ cmd = ... }) must be a non-empty list, e.g. { 'symgen-server' }"
  end
  if vim.fn.executable(exe) == 1 then
    return true, nil
  end
  return false,
    ("SymGen: server executable %q not found.\n"
      .. "Fix: install it into a virtualenv (pip install -e '.[server]' in the SymGen repo, "
      .. "or run scripts/setup.sh), then either put the venv's bin/ on PATH or call\n"
      .. "  require('symgen').setup({ cmd = { '/path/to/.venv/bin/symgen-server' } })"):format(exe)
end

--- The workspace folder for a buffer.
---@param bufnr integer
---@return string
function M.root_for(bufnr)
  local markers = config.options.root_markers
  if type(markers) == "function" then
    local root = markers(bufnr)
    if root then
      return root
    end
  elseif type(markers) == "table" and #markers > 0 then
    local root = vim.fs.root(bufnr, markers)
    if root then
      return root
    end
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name ~= "" then
    return vim.fs.dirname(vim.fs.normalize(vim.fn.fnamemodify(name, ":p")))
  end
  return vim.fn.getcwd()
end

local function on_exit(code, signal, client_id)
  vim.schedule(function()
    if stopping[client_id] or (code == 0 and signal == 0) then
      stopping[client_id] = nil
      return
    end
    -- Neovim itself keeps running; completions simply stop until the server is restarted.
    vim.notify(
      ("SymGen: the server exited unexpectedly (code %d, signal %d); %s. "
        .. "Restart it with :edit or :SymgenRestart."):format(code, signal, M.log_hint()),
      vim.log.levels.ERROR
    )
  end)
end

--- Start (or reuse) the client for a buffer. Returns the client id or nil.
---@param bufnr integer
---@param on_attach fun(client: vim.lsp.Client, bufnr: integer)
---@return integer|nil
function M.start(bufnr, on_attach)
  local opts = config.options
  local ok, msg = M.check_cmd(opts.cmd)
  if not ok then
    if not warned_missing then -- once per session, not once per buffer
      warned_missing = true
      vim.notify(msg, vim.log.levels.ERROR)
    end
    return nil
  end
  local root = M.root_for(bufnr)
  local settings = config.server_settings()
  local client_id = vim.lsp.start({
    name = M.name,
    cmd = opts.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fs.basename(root) } },
    init_options = settings,
    settings = { symgen = settings },
    on_attach = on_attach,
    on_exit = on_exit,
    handlers = { ["window/showMessage"] = show_message },
  }, { bufnr = bufnr })
  if not client_id then
    vim.notify("SymGen: could not start " .. table.concat(opts.cmd, " ") .. "; " .. M.log_hint(),
      vim.log.levels.ERROR)
  end
  return client_id
end

--- The SymGen client attached to a buffer (or, failing that, any SymGen client).
---@param bufnr integer|nil
---@return vim.lsp.Client|nil
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
  if attached[1] then
    return attached[1]
  end
  return vim.lsp.get_clients({ name = M.name })[1]
end

--- Stop every SymGen client without reporting it as a crash.
function M.stop_all()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    stopping[client.id] = true
    client:stop()
  end
end

--- Send the current settings to running servers.
function M.push_settings()
  local settings = config.server_settings()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client.settings = { symgen = settings }
    client:notify("workspace/didChangeConfiguration", { settings = { symgen = settings } })
  end
end

return M
