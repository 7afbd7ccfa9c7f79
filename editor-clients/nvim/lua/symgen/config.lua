-- Defaults and the merged user configuration (one table shared by every module).
local M = {}

M.defaults = {
  -- How to start the server; a list, as for vim.lsp.start().
  cmd = { "symgen-server" },
  -- Buffers of these filetypes get the server: `--` comments in SQL, `#` comments in Python and
  -- shell scripts (Neovim calls .sh files "sh"), each completed by its own model.
  filetypes = { "sql", "python", "sh", "bash" },
  -- First directory upwards holding one of these is the workspace (.symgen/ lives there);
  -- a function(bufnr) -> path may be given instead. Fallback: the file's directory.
  root_markers = { ".symgen", ".git" },
  -- Server settings (camelCase, see the server's README): sent as initializationOptions and
  -- again on update_settings(). Example: { database = "geo.sqlite", beamSize = 4 }.
  settings = {},
  -- Ask for ghost text while typing in insert mode, after this many quiet milliseconds.
  auto_trigger = true,
  debounce_ms = 150,
  keymaps = {
    accept = "<M-l>", -- insert mode: accept the ghost text
    dismiss = "<M-e>", -- insert mode: hide it
    trigger = "<M-\\>", -- insert mode: ask now (also works with auto_trigger = false)
    -- <Tab> accepts only while ghost text is shown and types a normal <Tab> otherwise. Not
    -- mapped when <Tab> already has an insert-mode mapping (e.g. from a completion plugin).
    tab = true,
  },
  -- Set 'omnifunc' so <C-x><C-o> offers the whole statement from textDocument/completion.
  omnifunc = true,
  -- $/progress of long jobs: "notify" (begin/end as notifications, reports echoed) or false.
  progress = "notify",
}

M.options = vim.deepcopy(M.defaults)

--- Merge user options over the defaults, validating the shape early so mistakes are loud.
---@param opts table|nil
---@return table
function M.setup(opts)
  opts = opts or {}
  vim.validate("opts", opts, "table")
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- Lists are replaced, not merged index by index (tbl_deep_extend would mix them).
  for _, key in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts[key] ~= nil then
      merged[key] = opts[key]
    end
  end
  if type(merged.cmd) == "string" then
    merged.cmd = { merged.cmd }
  end
  vim.validate("cmd", merged.cmd, "table")
  vim.validate("filetypes", merged.filetypes, "table")
  vim.validate("settings", merged.settings, "table")
  vim.validate("debounce_ms", merged.debounce_ms, "number")
  M.options = merged
  return merged
end

--- Settings as JSON-ready table: an empty Lua table would be encoded as [] (a list).
---@return table
function M.server_settings()
  local s = M.options.settings
  if next(s) == nil then
    return vim.empty_dict()
  end
  return s
end

return M
