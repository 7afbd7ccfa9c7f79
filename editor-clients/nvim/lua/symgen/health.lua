-- :checkhealth symgen
local M = {}

local function status_of(client, bufnr)
  local resp = client:request_sync("workspace/executeCommand", {
    command = "symgen.status",
    arguments = {},
  }, 15000, bufnr)
  if not resp then
    return nil, "no answer within 15 s"
  end
  if resp.err then
    return nil, resp.err.message
  end
  return resp.result, nil
end

local function report_status(status)
  if status.ready then
    vim.health.ok(("model: %s"):format(tostring(status.model)))
  else
    vim.health.warn(
      "no model loaded: " .. tostring(status.model or "none"),
      { "Train one with :SymgenTrain, or set settings.model to an exported model directory" }
    )
  end
  if status.database and status.database ~= vim.NIL then
    vim.health.ok("database: " .. tostring(status.database))
  else
    vim.health.warn("no database", { "Set settings.database to your SQLite or DuckDB file, or a postgresql:// URL" })
  end
  -- `#` requests in .sh / .py buffers: one model per language, found apart from the SQL one
  local code = type(status.code_models) == "table" and status.code_models or {}
  for _, lang in ipairs({ { "bash", ".sh" }, { "python", ".py" } }) do
    local task, ext = lang[1], lang[2]
    if code[task] then
      vim.health.ok(("%s model: %s"):format(task, tostring(code[task])))
    else
      vim.health.info(("no %s model: `#` requests in %s files get nothing (train one with "
        .. "`symgen train/export --task %s` into .symgen/models/, or set settings.%sModel)")
        :format(task, ext, task, task))
    end
  end
  local p50 = status.latency_p50_ms
  local latency = (p50 and p50 ~= vim.NIL) and (p50 .. " ms") or "- (no completion yet)"
  vim.health.info(("data: %s files, %s pairs; median latency %s"):format(
    tostring(status.data_files), tostring(status.data_pairs), latency))
end

function M.check()
  local config = require("symgen.config")
  local server = require("symgen.server")
  vim.health.start("symgen")

  if vim.fn.has("nvim-0.11") == 1 then
    vim.health.ok("Neovim " .. tostring(vim.version()))
  else
    vim.health.error("Neovim 0.11 or newer is required", { "Upgrade Neovim" })
    return
  end

  local ok, msg = server.check_cmd(config.options.cmd)
  if not ok then
    vim.health.error(msg or "server not found")
    return
  end
  vim.health.ok("server command: " .. table.concat(config.options.cmd, " ")
    .. " (" .. vim.fn.exepath(config.options.cmd[1]) .. ")")

  local client = server.client()
  local started = false
  if client then
    local root = tostring(client.root_dir)
    vim.health.ok(("server running (client id %d, root %s)"):format(client.id, root))
  else
    -- Start a detached client just for the check, then stop it.
    local root = vim.fn.getcwd()
    local id = vim.lsp.start({
      name = "symgen-health",
      cmd = config.options.cmd,
      root_dir = root,
      init_options = config.server_settings(),
    }, { attach = false })
    client = id and vim.lsp.get_client_by_id(id) or nil
    if not client or not vim.wait(20000, function()
      return client.initialized == true or client:is_stopped()
    end, 50) or client:is_stopped() then
      vim.health.error("server did not start", { server.log_hint() })
      if client then
        client:stop(true)
      end
      return
    end
    started = true
    vim.health.ok("server starts and initializes (workspace " .. root .. ")")
  end

  local status, err = status_of(client, vim.api.nvim_get_current_buf())
  if status then
    report_status(status)
  else
    vim.health.error("symgen.status failed: " .. tostring(err), { server.log_hint() })
  end
  if started then
    client:stop(true)
  end
end

return M
