-- <C-x><C-o>: the whole statement from textDocument/completion. Neovim's vim.lsp.omnifunc
-- inserts only the first word of a plain-text edit ("SELECT"), so SymGen offers its own.
local server = require("symgen.server")

local M = {}

-- Buffers waiting for a completion answer: the inline client holds back meanwhile, since the
-- server answers only the newest request per document.
local busy = {} ---@type table<integer, boolean>

---@param bufnr integer
---@return boolean
function M.busy(bufnr)
  return busy[bufnr] == true
end

local function on_result(bufnr, cursor, tick, client, result)
  busy[bufnr] = nil
  if vim.api.nvim_get_current_buf() ~= bufnr or vim.fn.mode() ~= "i" then
    return
  end
  local now = vim.api.nvim_win_get_cursor(0)
  if now[1] ~= cursor[1] or now[2] ~= cursor[2] then
    return
  end
  if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
    return
  end
  local items = result and (result.items or result) or {}
  local row = cursor[1] - 1
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local start = cursor[2]
  local matches = {}
  for _, item in ipairs(items) do
    local edit = item.textEdit
    local text = edit and edit.newText or item.insertText or item.label
    local newline = text:sub(1, 1) == "\n"
    if newline then
      text = text:sub(2) -- complete() cannot insert a line break: CompleteDone adds it
    elseif edit and edit.range and edit.range.start.line == row then
      local enc = client.offset_encoding or "utf-16"
      start = vim.str_byteindex(line, enc, edit.range.start.character, false)
    end
    if not text:find("\n", 1, true) then
      matches[#matches + 1] = {
        word = text,
        abbr = item.label,
        menu = "[SymGen]",
        info = text,
        icase = 1,
        dup = 1,
        user_data = { symgen = { newline = newline } },
      }
    end
  end
  if #matches > 0 then
    vim.fn.complete(start + 1, matches)
  end
end

--- 'omnifunc' (asynchronous, like vim.lsp.omnifunc: returns -2 and calls complete() later).
---@param findstart integer
---@return integer|table
function M.omnifunc(findstart, _)
  if findstart == 0 then
    return {}
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ name = server.name, bufnr = bufnr })[1]
  if not client then
    return -3
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  params.context = { triggerKind = 1 }
  require("symgen.inline").dismiss(bufnr)
  busy[bufnr] = true
  local ok = client:request("textDocument/completion", params, function(err, result)
    busy[bufnr] = nil
    if not err then
      on_result(bufnr, cursor, tick, client, result)
    end
  end, bufnr)
  if not ok then
    busy[bufnr] = nil
  end
  return -2
end

--- After accepting an item that belongs on the next line, move it there.
function M.on_complete_done()
  local item = vim.v.completed_item
  local data = type(item) == "table" and item.user_data
  if type(data) ~= "table" or type(data.symgen) ~= "table" or not data.symgen.newline then
    return
  end
  local word = item.word or ""
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local line = vim.api.nvim_get_current_line()
  if word == "" or line:sub(col - #word + 1, col) ~= word then
    return
  end
  local at = col - #word
  vim.api.nvim_buf_set_text(0, row - 1, at, row - 1, at, { "", "" })
  vim.api.nvim_win_set_cursor(0, { row + 1, #word })
end

return M
