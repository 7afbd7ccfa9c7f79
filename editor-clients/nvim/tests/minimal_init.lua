-- Minimal config for the tests: only this plugin on the runtimepath, a scratch state dir.
local root = vim.fs.dirname(vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2))))
vim.opt.runtimepath:prepend(root)
vim.cmd("filetype plugin indent on")
