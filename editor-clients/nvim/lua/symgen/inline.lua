-- Inline completion: ask the server (textDocument/inlineCompletion, LSP 3.18, requested by hand
-- because Neovim 0.11 has no built-in client for it), show the answer as ghost text, accept it.
local config = require("symgen.config")
local ghost = require("symgen.ghost")
local server = require("symgen.server")

local M = {}

local INVOKED, AUTOMATIC = 1, 2 -- InlineCompletionTriggerKind
local generation = {} ---@type table<integer, integer> bufnr -> newest request number
local pending = {} ---@type table<integer, {client: vim.lsp.Client, id: integer}>
local timers = {} ---@type table<integer, uv.uv_timer_t>
local skip_tick = {} ---@type table<integer, integer> changedtick caused by our own accept
M.responses = {} ---@type table<integer, integer> bufnr -> answers received (for tests)

local function byte_col(line, encoding, character)
  return vim.str_byteindex(line, encoding, character, false)
end

local function line_at(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
end

local function cancel_pending(bufnr)
  local p = pending[bufnr]
  pending[bufnr] = nil
  if p and not p.client:is_stopped() then
    p.client:cancel_request(p.id) -- the server stops the decode between two steps
  end
end

local function stop_timer(bufnr)
  local t = timers[bufnr]
  if t then
    t:stop()
  end
end

---@param item table InlineCompletionItem
---@return string
local function item_text(item)
  local text = item.insertText
  if type(text) == "table" then -- StringValue (snippet): show its plain text
    text = text.value or ""
  end
  return type(text) == "string" and text or ""
end

--- Turn a response into ghost text, unless the buffer or cursor moved on meanwhile.
local function on_result(bufnr, gen, win, cursor, tick, client, result)
  M.responses[bufnr] = (M.responses[bufnr] or 0) + 1
  if generation[bufnr] ~= gen or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  pending[bufnr] = nil
  if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
    return
  end
  if not vim.api.nvim_win_is_valid(win) or vim.api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local now = vim.api.nvim_win_get_cursor(win)
  if now[1] ~= cursor[1] or now[2] ~= cursor[2] then
    return
  end
  local items = result and (result.items or result) or {}
  local item = items[1]
  local text = item and item_text(item) or ""
  if text == "" then
    ghost.clear(bufnr)
    return
  end
  local encoding = client.offset_encoding or "utf-16"
  local row, col = cursor[1] - 1, cursor[2]
  local typed = ""
  local range = item.range
  if range and range.start.line == row and range["end"].line == row then
    local line = line_at(bufnr, row)
    local s = byte_col(line, encoding, range.start.character)
    typed = line:sub(s + 1, col)
  end
  local lines, continues = ghost.display_lines(text, typed)
  if typed ~= "" and not continues then
    table.insert(lines, 1, "") -- a different statement: draw it below, not after the cursor
  end
  if #lines == 1 and lines[1] == "" then
    ghost.clear(bufnr) -- everything is typed already
    return
  end
  ghost.show(bufnr, {
    row = row,
    col = col,
    lines = lines,
    item = item,
    encoding = encoding,
    changedtick = tick,
  })
end

--- Ask for a suggestion at the cursor of the current window (which must show `bufnr`).
---@param bufnr integer|nil
---@param opts {automatic: boolean|nil}|nil
---@return boolean sent
function M.request(bufnr, opts)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  opts = opts or {}
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    return false
  end
  local client = vim.lsp.get_clients({ name = server.name, bufnr = bufnr })[1]
  if not client then
    return false
  end
  cancel_pending(bufnr)
  local gen = (generation[bufnr] or 0) + 1
  generation[bufnr] = gen
  local cursor = vim.api.nvim_win_get_cursor(win)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding or "utf-16")
  params.context = { triggerKind = opts.automatic and AUTOMATIC or INVOKED }
  local ok, id = client:request("textDocument/inlineCompletion", params, function(err, result)
    if err then
      -- A cancelled or superseded request is normal; anything else goes to the LSP log.
      if err.code ~= -32800 then
        vim.lsp.log.warn("symgen inlineCompletion:", err)
      end
      M.responses[bufnr] = (M.responses[bufnr] or 0) + 1
      return
    end
    on_result(bufnr, gen, win, cursor, tick, client, result)
  end, bufnr)
  if ok and id then
    pending[bufnr] = { client = client, id = id }
  end
  return ok == true
end

--- Debounced request, for typing.
---@param bufnr integer
function M.schedule(bufnr)
  local t = timers[bufnr]
  if not t then
    t = assert(vim.uv.new_timer())
    timers[bufnr] = t
  end
  t:stop()
  t:start(
    config.options.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if
        vim.api.nvim_buf_is_valid(bufnr)
        and vim.api.nvim_get_current_buf() == bufnr
        and vim.fn.pumvisible() == 0
        and not require("symgen.omni").busy(bufnr)
      then
        M.request(bufnr, { automatic = true })
      end
    end)
  )
end

--- Hide the ghost text and forget pending work for a buffer.
---@param bufnr integer|nil
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  stop_timer(bufnr)
  cancel_pending(bufnr)
  generation[bufnr] = (generation[bufnr] or 0) + 1 -- late answers are dropped
  ghost.clear(bufnr)
end

--- Insert the shown suggestion, replacing the item's range, and put the cursor after it.
---@param bufnr integer|nil
---@return boolean accepted (false when nothing was shown)
function M.accept(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local st = ghost.get(bufnr)
  if not st then
    return false
  end
  M.dismiss(bufnr)
  if vim.api.nvim_buf_get_changedtick(bufnr) ~= st.changedtick then
    return false -- the text changed under the suggestion: do not guess
  end
  local text = item_text(st.item)
  local srow, scol, erow, ecol = st.row, st.col, st.row, st.col
  local range = st.item.range
  if range then
    srow, erow = range.start.line, range["end"].line
    scol = byte_col(line_at(bufnr, srow), st.encoding, range.start.character)
    ecol = byte_col(line_at(bufnr, erow), st.encoding, range["end"].character)
  end
  local new = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_set_text(bufnr, srow, scol, erow, ecol, new)
  skip_tick[bufnr] = vim.api.nvim_buf_get_changedtick(bufnr)
  local last_row = srow + #new - 1
  local last_col = (#new == 1 and scol or 0) + #new[#new]
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) == bufnr then
    vim.api.nvim_win_set_cursor(win, { last_row + 1, last_col })
  end
  return true
end

--- Insert-mode autocmds: re-ask while typing, hide on leaving.
---@param bufnr integer
function M.attach(bufnr)
  local group = vim.api.nvim_create_augroup("symgen_inline_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "TextChangedI", "CursorMovedI" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local st = ghost.get(bufnr)
      local cursor = vim.api.nvim_win_get_cursor(0)
      local tick = vim.api.nvim_buf_get_changedtick(bufnr)
      if st and st.changedtick == tick and st.row == cursor[1] - 1 and st.col == cursor[2] then
        return -- nothing moved (e.g. CursorMovedI right after showing)
      end
      if st then
        ghost.clear(bufnr)
      end
      if skip_tick[bufnr] == tick then
        return -- our own accept: no need to ask about the statement just inserted
      end
      if vim.fn.pumvisible() == 1 or require("symgen.omni").busy(bufnr) then
        return -- the completion menu is in charge
      end
      if config.options.auto_trigger then
        M.schedule(bufnr)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ "BufUnload" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
      local t = timers[bufnr]
      timers[bufnr] = nil
      if t and not t:is_closing() then
        t:close()
      end
    end,
  })
end

return M
