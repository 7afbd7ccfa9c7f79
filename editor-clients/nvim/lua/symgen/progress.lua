-- $/progress of the server's long jobs (generate, train): remembered for statuslines and
-- tests, and shown to the user.
local config = require("symgen.config")

local M = {}

---@class symgen.Progress
---@field token string|integer
---@field kind string "begin" | "report" | "end"
---@field title string|nil
---@field message string|nil
---@field percentage integer|nil
---@field active integer running jobs

local titles = {} ---@type table<string|integer, string>
local last = nil ---@type symgen.Progress|nil
M.history = {} ---@type symgen.Progress[] every update, oldest first (bounded)

--- Copy of the latest update (nil before the first job).
---@return symgen.Progress|nil
function M.state()
  return last and vim.deepcopy(last) or nil
end

--- Progress tokens of jobs that have begun and not ended.
---@return (string|integer)[]
function M.active_tokens()
  return vim.tbl_keys(titles)
end

--- A short text for a statusline ("" when no job runs).
---@return string
function M.statusline()
  if not last or last.kind == "end" then
    return ""
  end
  local pct = last.percentage and (" " .. last.percentage .. "%%") or ""
  return "SymGen: " .. (last.message or last.title or "working") .. pct
end

---@param token string|integer
---@param value table WorkDoneProgressBegin | Report | End
function M.update(token, value)
  if type(value) ~= "table" or not value.kind then
    return
  end
  if value.kind == "begin" then
    titles[token] = value.title or "SymGen"
  end
  local title = titles[token]
  if value.kind == "end" then
    titles[token] = nil
  end
  last = {
    token = token,
    kind = value.kind,
    title = title,
    message = value.message,
    percentage = value.percentage,
    active = #vim.tbl_keys(titles),
  }
  table.insert(M.history, last)
  if #M.history > 200 then
    table.remove(M.history, 1)
  end
  M.show(last)
end

---@param p symgen.Progress
function M.show(p)
  if config.options.progress ~= "notify" then
    return
  end
  if p.kind == "report" then
    -- Frequent: echo without history instead of piling up notifications.
    local pct = p.percentage and (" (" .. p.percentage .. "%)") or ""
    vim.api.nvim_echo({ { (p.message or p.title or "SymGen") .. pct, "Comment" } }, false, {})
  else
    local text = p.kind == "begin" and ((p.title or "SymGen") .. " (:SymgenCancel stops it)")
      or (p.message or ((p.title or "SymGen") .. ": done"))
    vim.notify(text, vim.log.levels.INFO)
  end
  vim.cmd("redrawstatus!")
end

--- Listen to LspProgress for SymGen clients (Neovim's own handler keeps working too).
function M.attach_autocmd()
  vim.api.nvim_create_autocmd("LspProgress", {
    group = vim.api.nvim_create_augroup("symgen_progress", { clear = true }),
    callback = function(ev)
      local data = ev.data or {}
      local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
      if not client or client.name ~= "symgen" or not data.params then
        return
      end
      M.update(data.params.token, data.params.value)
    end,
  })
end

return M
