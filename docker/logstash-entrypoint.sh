#!/usr/bin/env bash
# Hand Logstash the API key the setup service created, then start it as the
# image normally does. The key stays in the environment of this process only.
set -euo pipefail
key_file="${MLMON_LOGSTASH_API_KEY_FILE:-/usr/share/logstash/config/certs/mlmon/logstash_api_key}"
if [ -z "${MLMON_LOGSTASH_API_KEY:-}" ]; then
  MLMON_LOGSTASH_API_KEY="$(tr -d '\n' < "$key_file")"
  export MLMON_LOGSTASH_API_KEY
fi
exec /usr/local/bin/docker-entrypoint "$@"
