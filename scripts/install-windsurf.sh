#!/usr/bin/env bash
# Add ipcmesh to Windsurf's MCP servers (~/.codeium/windsurf/mcp_config.json).
# Cascade hooks cannot add context, so there are none. Same as
# `ipcmesh install windsurf`.
# usage: scripts/install-windsurf.sh [--name NAME]
set -euo pipefail
scopes=user
. "$(dirname "$0")/lib.sh"
[ "$scope" = user ] || { echo "--scope $scope: Windsurf has only a user-level MCP config (~/.codeium/windsurf/mcp_config.json): leave --scope out" >&2; exit 2; }

# The mesh settings are this shell's, as install writes them: one an
# earlier run wrote that is not set here goes, or the assistant would stay
# on the mesh of that run. Variables of the user's own stay.
jq_edit "$HOME/.codeium/windsurf/mcp_config.json" '
  .mcpServers.ipcmesh = ((.mcpServers.ipcmesh // {}) + {command: $bin, args: ["mcp"]}
    | .env = ((.env // {}) | del(.IPC_HOST, .IPC_PORT, .IPC_DATA_DIR))
      + (if $name == "" then {} else {IPC_NAME: $name} end) + $env
    | if .env == {} then del(.env) else . end)' \
  --arg bin "$bin" --arg name "$name" --argjson env "$env_json"
