#!/usr/bin/env bash
# Add ipcmesh to Gemini CLI: the MCP server (gemini mcp add), and hooks that
# show unread mail before each turn (BeforeAgent) and after each tool call
# (AfterTool). Gemini runs hooks synchronously, so no wait hook. Same as
# `ipcmesh install gemini`.
# usage: scripts/install-gemini.sh [--name NAME] [--scope user|project]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v gemini >/dev/null || { echo "gemini, Gemini CLI's command, is not on PATH: this script adds the MCP server with it; install Gemini CLI, or use ipcmesh install gemini, which needs no gemini command" >&2; exit 1; }

# Before gemini changes anything: a settings file jq cannot edit stops here.
jq_check "$base/.gemini/settings.json"
gemini mcp remove -s "$scope" ipcmesh >/dev/null 2>&1 || true
gemini mcp add -s "$scope" ipcmesh "$bin" mcp ${name:+-e "IPC_NAME=$name"} ${env_args[@]+"${env_args[@]}"}

jq_edit "$base/.gemini/settings.json" "$jq_strip"'
  .hooks //= {}
  | .hooks.BeforeAgent = ((.hooks.BeforeAgent // []) | strip) + [{hooks: [{name: "ipcmesh-check", type: "command", command: $check, timeout: 10000}]}]
  | .hooks.AfterTool = ((.hooks.AfterTool // []) | strip) + [{matcher: "*", hooks: [{name: "ipcmesh-check-after-tool", type: "command", command: $check, timeout: 10000}]}]' \
  --arg check "$qbin hook check --format gemini$as"
