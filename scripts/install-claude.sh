#!/usr/bin/env bash
# Add ipcmesh to Claude Code: the MCP server (claude mcp add), and hooks that
# show unread mail before each prompt and after each tool call and wake an
# idle session when mail arrives (Stop, asyncRewake). Same as
# `ipcmesh install claude`.
# usage: scripts/install-claude.sh [--name NAME] [--scope user|project]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v claude >/dev/null || { echo "claude, Claude Code's command, is not on PATH: this script adds the MCP server with it; install Claude Code, or use ipcmesh install claude, which needs no claude command" >&2; exit 1; }

# Before claude changes anything: a hooks file jq cannot edit stops here.
jq_check "$base/.claude/settings.json"
claude mcp remove -s "$scope" ipcmesh >/dev/null 2>&1 || true
claude mcp add -s "$scope" ipcmesh ${name:+-e "IPC_NAME=$name"} ${env_args[@]+"${env_args[@]}"} -- "$bin" mcp

jq_edit "$base/.claude/settings.json" "$jq_strip"'
  .hooks //= {}
  | .hooks.UserPromptSubmit = ((.hooks.UserPromptSubmit // []) | strip) + [{hooks: [{type: "command", command: $check, timeout: 30}]}]
  | .hooks.PostToolUse = ((.hooks.PostToolUse // []) | strip) + [{matcher: "*", hooks: [{type: "command", command: $check, timeout: 30}]}]
  | .hooks.Stop = ((.hooks.Stop // []) | strip) + [{hooks: [{type: "command", command: $wait, asyncRewake: true, timeout: 3660}]}]' \
  --arg check "$qbin hook check --format claude$as" \
  --arg wait "$qbin hook wait --format claude$as --timeout 1h"
