#!/usr/bin/env bash
# Hand the analyzer the API key the setup service created for it (least
# privilege: read predictions; read and append check results and alerts), then
# run the command. The key stays in the environment of this process only.
set -euo pipefail
key_file="${MLMON_ANALYZER_API_KEY_FILE:-/certs/mlmon/analyzer_api_key}"
if [ -z "${MLMON_ES_API_KEY:-}" ]; then
  if [ ! -s "$key_file" ]; then
    echo "analyzer: no API key in $key_file (did the setup service finish?)" >&2
    exit 1
  fi
  MLMON_ES_API_KEY="$(tr -d '\n' < "$key_file")"
  export MLMON_ES_API_KEY
fi
exec "$@"
