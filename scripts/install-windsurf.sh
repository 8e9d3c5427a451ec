#!/usr/bin/env bash
# Add ipcmesh to Windsurf's MCP servers (~/.codeium/windsurf/mcp_config.json).
# Cascade hooks cannot add context, so there are none. Same as
# `ipcmesh install windsurf`.
# usage: scripts/install-windsurf.sh [--name NAME]
set -euo pipefail
scopes=user
. "$(dirname "$0")/lib.sh"
[ "$scope" = user ] || { echo "--scope $scope: Windsurf has only a user-level MCP config (~/.codeium/windsurf/mcp_config.json): leave --scope out" >&2; exit 2; }

jq_edit "$HOME/.codeium/windsurf/mcp_config.json" '
  .mcpServers.ipcmesh = ((.mcpServers.ipcmesh // {}) + {command: $bin, args: ["mcp"]}
    | if $name == "" then . else .env = ((.env // {}) + {IPC_NAME: $name}) end
    | if $env == {} then . else .env = ((.env // {}) + $env) end)' \
  --arg bin "$bin" --arg name "$name" --argjson env "$env_json"
