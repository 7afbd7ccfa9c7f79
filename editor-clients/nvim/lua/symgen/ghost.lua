-- Ghost text: the suggestion drawn as virtual text (extmarks), never as buffer text.
local M = {}

M.ns = vim.api.nvim_create_namespace("symgen_ghost")

local function define_highlight()
  vim.api.nvim_set_hl(0, "SymgenGhost", { link = "Comment", default = true })
end
define_highlight()
-- A colorscheme change clears highlight groups; restore the default link.
vim.api.nvim_create_autocmd("ColorScheme", {
  group = vim.api.nvim_create_augroup("symgen_ghost_hl", { clear = true }),
  callback = define_highlight,
})

---@class symgen.Shown
---@field row integer 0-based line of the cursor when shown
---@field col integer 0-based byte column of the cursor
---@field lines string[] what is drawn: lines[1] at the cursor, the rest below it
---@field item table the InlineCompletionItem (insertText + range, server encoding)
---@field encoding string the client's position encoding
---@field changedtick integer

---@type table<integer, symgen.Shown>
local shown = {}

--- What to draw for `text` when `typed` (the text the item's range covers) is already there:
--- only the untyped rest if the suggestion continues what was typed, otherwise all of it.
---@param text string
---@param typed string
---@return string[] lines, boolean continues
function M.display_lines(text, typed)
  local continues = typed ~= "" and text:sub(1, #typed):lower() == typed:lower()
  if continues then
    text = text:sub(#typed + 1)
  end
  return vim.split(text, "\n", { plain = true }), continues
end

--- Draw suggestion lines at (row, col) of a buffer and remember the item for accept().
---@param bufnr integer
---@param state symgen.Shown
function M.show(bufnr, state)
  M.clear(bufnr)
  local lines = state.lines
  local first = lines[1] or ""
  local rest = {}
  for i = 2, #lines do
    rest[#rest + 1] = { { lines[i], "SymgenGhost" } }
  end
  local mark = { virt_text_pos = "inline", hl_mode = "combine" }
  if first ~= "" then
    mark.virt_text = { { first, "SymgenGhost" } }
  end
  if #rest > 0 then
    mark.virt_lines = rest
  end
  if mark.virt_text or mark.virt_lines then
    vim.api.nvim_buf_set_extmark(bufnr, M.ns, state.row, state.col, mark)
  end
  shown[bufnr] = state
end

---@param bufnr integer|nil
function M.clear(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  shown[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

---@param bufnr integer|nil
---@return symgen.Shown|nil
function M.get(bufnr)
  return shown[bufnr or vim.api.nvim_get_current_buf()]
end

--- The ghost text as drawn, read back from the extmarks (what the user actually sees).
---@param bufnr integer|nil
---@return string[] lines (empty when nothing is shown)
function M.rendered(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local out = {}
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { details = true })
  for _, mark in ipairs(marks) do
    local d = mark[4]
    local first = {}
    for _, chunk in ipairs(d.virt_text or {}) do
      first[#first + 1] = chunk[1]
    end
    out[#out + 1] = table.concat(first)
    for _, vline in ipairs(d.virt_lines or {}) do
      local parts = {}
      for _, chunk in ipairs(vline) do
        parts[#parts + 1] = chunk[1]
      end
      out[#out + 1] = table.concat(parts)
    end
  end
  return out
end

return M
