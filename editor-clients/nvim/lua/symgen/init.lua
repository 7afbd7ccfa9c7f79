-- SymGen for Neovim: natural-language comments -> SQL ghost text, from symgen-server.
--   require("symgen").setup({ settings = { database = "geo.sqlite" } })
-- See :help symgen.
local config = require("symgen.config")

local M = {}

local attached = {} ---@type table<integer, boolean>

--- <Tab>: accept while ghost text shows, otherwise do what <Tab> did before. An existing
--- expression mapping with a Lua callback (Neovim's own snippet-jump default, most completion
--- plugins) is delegated to; any other existing mapping is left alone and Tab is not mapped.
local function map_tab(bufnr)
  local prev = vim.api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg("<Tab>", "i", false, true)
  end)
  if prev.buffer == 1 and (prev.desc or ""):match("^SymGen") then
    return -- already ours
  end
  local fallback
  if vim.tbl_isempty(prev) then
    fallback = function()
      return "<Tab>" -- noremap: a literal <Tab>
    end
  elseif prev.expr == 1 and prev.callback and prev.noremap == 1 then
    fallback = prev.callback
  else
    return
  end
  vim.keymap.set("i", "<Tab>", function()
    if require("symgen.ghost").get(bufnr) then
      return "<Cmd>lua require('symgen.inline').accept()<CR>"
    end
    return fallback()
  end, { buffer = bufnr, expr = true, desc = "SymGen: accept suggestion, else <Tab>" })
end

local function map_keys(bufnr)
  local keys = config.options.keymaps or {}
  local inline = require("symgen.inline")
  local function set(lhs, rhs, desc)
    if lhs and lhs ~= "" then
      vim.keymap.set("i", lhs, rhs, { buffer = bufnr, desc = desc })
    end
  end
  set(keys.accept, function()
    inline.accept(bufnr)
  end, "SymGen: accept suggestion")
  set(keys.dismiss, function()
    inline.dismiss(bufnr)
  end, "SymGen: dismiss suggestion")
  set(keys.trigger, function()
    inline.request(bufnr)
  end, "SymGen: suggest now")
  if keys.tab then
    map_tab(bufnr)
  end
end

---@param client vim.lsp.Client
---@param bufnr integer
local function on_attach(client, bufnr)
  if attached[bufnr] then
    return
  end
  attached[bufnr] = true
  require("symgen.inline").attach(bufnr)
  map_keys(bufnr)
  if config.options.omnifunc then
    vim.bo[bufnr].omnifunc = "v:lua.require'symgen.omni'.omnifunc"
    vim.api.nvim_create_autocmd("CompleteDone", {
      group = vim.api.nvim_create_augroup("symgen_omni_" .. bufnr, { clear = true }),
      buffer = bufnr,
      callback = require("symgen.omni").on_complete_done,
    })
  end
  vim.api.nvim_create_autocmd("LspDetach", {
    buffer = bufnr,
    once = true,
    callback = function(ev)
      if ev.data and ev.data.client_id == client.id then
        attached[bufnr] = nil
        require("symgen.inline").dismiss(bufnr)
      end
    end,
  })
end

--- Start the server for a buffer (normally done by the FileType autocmd).
---@param bufnr integer|nil
---@return integer|nil client id
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= "" then
    return nil -- help, terminal, prompt buffers
  end
  return require("symgen.server").start(bufnr, on_attach)
end

---@param opts table|nil see :help symgen-setup
function M.setup(opts)
  config.setup(opts)
  require("symgen.commands").create()
  require("symgen.progress").attach_autocmd()
  local group = vim.api.nvim_create_augroup("symgen", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.options.filetypes,
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  -- Buffers opened before setup() ran.
  local wanted = {}
  for _, ft in ipairs(config.options.filetypes) do
    wanted[ft] = true
  end
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and wanted[vim.bo[buf].filetype] then
      M.attach(buf)
    end
  end
end

--- Merge server settings and send them (workspace/didChangeConfiguration).
---@param settings table camelCase, e.g. { beamSize = 2, enabled = false }
function M.update_settings(settings)
  vim.validate("settings", settings, "table")
  config.options.settings = vim.tbl_deep_extend("force", config.options.settings, settings)
  require("symgen.server").push_settings()
end

--- Stop the server(s) and start again for every attached buffer.
function M.restart()
  local bufs = vim.tbl_keys(attached)
  require("symgen.server").stop_all()
  attached = {}
  vim.defer_fn(function()
    for _, buf in ipairs(bufs) do
      if vim.api.nvim_buf_is_valid(buf) then
        M.attach(buf)
      end
    end
  end, 500)
end

-- Public API (also used by tests and statuslines).
M.request = function(bufnr)
  return require("symgen.inline").request(bufnr)
end
M.accept = function(bufnr)
  return require("symgen.inline").accept(bufnr)
end
M.dismiss = function(bufnr)
  return require("symgen.inline").dismiss(bufnr)
end
--- The ghost text lines as drawn (empty when none).
M.ghost_text = function(bufnr)
  return require("symgen.ghost").rendered(bufnr)
end
M.progress_state = function()
  return require("symgen.progress").state()
end
M.statusline = function()
  return require("symgen.progress").statusline()
end
M.client = function(bufnr)
  return require("symgen.server").client(bufnr)
end
M.execute = function(...)
  return require("symgen.commands").execute(...)
end
M.last_result = function(name)
  return require("symgen.commands").results[name]
end
M.messages = function()
  return require("symgen.server").messages
end

return M
