#!/usr/bin/env bash
# One-shot setup of the compose stack's security, run in the Elasticsearch image as root:
#   1. a CA and a certificate for es01 (kept in the `certs` volume, made once);
#      from the same CA, a server certificate for Logstash's inputs (its key also
#      in PKCS#8, which the beats and http inputs need) and a client certificate
#      for the serving app (tcp and beats require one); made once, remade with
#      MLMON_ROTATE_LOGSTASH_CERTS=1 (see docs/stack.md, "Rotating");
#   2. once Elasticsearch answers: the kibana_system password (Kibana logs in with it);
#   3. API keys, each reused while it still authenticates, stored in the certs
#      volume for one container: Logstash may only append to the mlmon data
#      streams; the analyzer may read predictions and read and append check
#      results and alerts.
# It refuses to start with the example values of .env.example or empty ones.
set -euo pipefail

: "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
: "${KIBANA_PASSWORD:?set KIBANA_PASSWORD in .env}"
: "${LOGSTASH_HTTP_PASSWORD:?set LOGSTASH_HTTP_PASSWORD in .env}"

refuse() {
  echo "Refusing to start: $1" >&2
  exit 1
}
for name in ELASTIC_PASSWORD KIBANA_PASSWORD LOGSTASH_HTTP_PASSWORD; do
  value="${!name}"
  case "$value" in
    change-me*|changeme|password) refuse "$name still has the example value; choose your own in .env" ;;
  esac
  [ "${#value}" -ge 12 ] || refuse "$name is shorter than 12 characters"
done
for name in KIBANA_SAVED_OBJECTS_KEY KIBANA_SECURITY_KEY KIBANA_REPORTING_KEY; do
  value="${!name:-}"
  case "$value" in
    ""|change-me*) refuse "$name is empty or the example value; generate it: openssl rand -hex 32" ;;
  esac
  [ "${#value}" -ge 32 ] || refuse "$name is shorter than 32 characters (openssl rand -hex 32)"
done
if [ "$KIBANA_SAVED_OBJECTS_KEY" = "$KIBANA_SECURITY_KEY" ] \
    || [ "$KIBANA_SAVED_OBJECTS_KEY" = "$KIBANA_REPORTING_KEY" ] \
    || [ "$KIBANA_SECURITY_KEY" = "$KIBANA_REPORTING_KEY" ]; then
  refuse "the three Kibana keys must be generated separately (they are equal)"
fi

cd /usr/share/elasticsearch
certs=config/certs
es="https://es01:9200"

if [ ! -f "$certs/ca.zip" ]; then
  echo "Creating the certificate authority"
  bin/elasticsearch-certutil ca --silent --pem -out "$certs/ca.zip"
  unzip -o "$certs/ca.zip" -d "$certs"
fi
if [ ! -f "$certs/certs.zip" ]; then
  echo "Creating the es01 certificate"
  cat > "$certs/instances.yml" <<YAML
instances:
  - name: es01
    dns: [es01, localhost]
    ip: [127.0.0.1]
YAML
  bin/elasticsearch-certutil cert --silent --pem -out "$certs/certs.zip" \
    --in "$certs/instances.yml" --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key"
  unzip -o "$certs/certs.zip" -d "$certs"
fi
if [ "${MLMON_ROTATE_LOGSTASH_CERTS:-0}" = "1" ]; then
  echo "Rotating the Logstash and mlmon-app certificates"
  rm -rf "$certs/logstash-certs.zip" "$certs/logstash" "$certs/mlmon-app"
fi
if [ ! -f "$certs/logstash-certs.zip" ]; then
  echo "Creating the Logstash server and mlmon-app client certificates"
  # `logstash` is the name the app connects to inside the compose network,
  # localhost the name of the published ports.
  cat > "$certs/logstash-instances.yml" <<YAML
instances:
  - name: logstash
    dns: [logstash, localhost]
    ip: [127.0.0.1]
  - name: mlmon-app
    dns: [mlmon-app]
YAML
  bin/elasticsearch-certutil cert --silent --pem -out "$certs/logstash-certs.zip" \
    --in "$certs/logstash-instances.yml" --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key"
  unzip -o "$certs/logstash-certs.zip" -d "$certs"
fi
bash /mlmon/pem-to-pkcs8.sh "$certs/logstash/logstash.key" "$certs/logstash/logstash.pkcs8.key"

# Elasticsearch runs as 1000:0 and reads keys through group 0; the CA and the
# certificates are public; Logstash (uid 1000) owns its key, the mlmon-elk image
# (uid 10001) the app's client key.
chown -R root:root "$certs"
find "$certs" -type d -exec chmod 755 {} \;
find "$certs" -type f -exec chmod 640 {} \;
chmod 644 "$certs/ca/ca.crt" "$certs/logstash/logstash.crt" "$certs/mlmon-app/mlmon-app.crt"
chown 1000:0 "$certs/logstash/logstash.pkcs8.key"
chown 10001:0 "$certs/mlmon-app/mlmon-app.key"

curl_es() {
  curl --silent --show-error --cacert "$certs/ca/ca.crt" "$@"
}

echo "Waiting for Elasticsearch"
until curl_es "$es" | grep -q "missing authentication credentials"; do sleep 5; done

echo "Setting the kibana_system password"
# Retried a few times: right after start the security index may not accept
# writes yet. A refusal that persists (a wrong ELASTIC_PASSWORD, a password
# the cluster's policy rejects) is printed and stops the setup.
tries=0
max_tries="${MLMON_SETUP_TRIES:-12}"
until answer=$(curl_es -X POST -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
    "$es/_security/user/kibana_system/_password" -d "{\"password\":\"${KIBANA_PASSWORD}\"}" 2>&1) \
    && printf '%s' "$answer" | grep -q "^{}"; do
  tries=$((tries + 1))
  echo "Setting the kibana_system password failed (try $tries of $max_tries): $answer" >&2
  if [ "$tries" -ge "$max_tries" ]; then
    echo "Giving up. If ELASTIC_PASSWORD changed after the data volume was created," >&2
    echo "the old one is still in force: docker compose down -v (deletes the data) or reset it." >&2
    exit 1
  fi
  sleep 5
done

key_dir="$certs/mlmon"
mkdir -p "$key_dir"

# ensure_api_key NAME FILE ROLE_DESCRIPTORS OWNER: reuse the key in FILE while it
# authenticates, else create one with exactly ROLE_DESCRIPTORS; FILE is readable
# by OWNER (uid:gid) only.
ensure_api_key() {
  local name=$1 file=$2 roles=$3 owner=$4 response id key
  if [ -s "$file" ] && [ "$(curl_es -o /dev/null -w '%{http_code}' \
      -H "Authorization: ApiKey $(tr -d '\n' < "$file" | base64 -w0)" \
      "$es/_security/_authenticate")" = "200" ]; then
    echo "Reusing the $name API key"
  else
    echo "Creating the $name API key"
    response=$(curl_es -X POST -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
      "$es/_security/api_key" -d "{\"name\": \"$name\", \"role_descriptors\": $roles}")
    id=$(printf '%s' "$response" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
    key=$(printf '%s' "$response" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
    if [ -z "$id" ] || [ -z "$key" ]; then
      echo "Could not create the $name API key: $response" >&2
      exit 1
    fi
    printf '%s:%s' "$id" "$key" > "$file"
  fi
  chown "$owner" "$file"
  chmod 640 "$file"
}

# Logstash (uid 1000): append to the mlmon streams, nothing else.
ensure_api_key mlmon-logstash "$key_dir/logstash_api_key" '{
  "mlmon_logstash_writer": {
    "cluster": ["monitor"],
    "indices": [{"names": ["logs-mlmon.*-*"], "privileges": ["create_doc", "auto_configure"]}]
  }
}' 1000:0

# The analyzer (uid 10001 in the mlmon-elk image): count predictions, read its
# own results and open alerts back, append new ones. No cluster privilege.
ensure_api_key mlmon-analyzer "$key_dir/analyzer_api_key" '{
  "mlmon_analyzer": {
    "cluster": [],
    "indices": [
      {"names": ["logs-mlmon.prediction-*"], "privileges": ["read"]},
      {"names": ["logs-mlmon.check-*", "logs-mlmon.alert-*"], "privileges": ["read", "create_doc", "auto_configure"]}
    ]
  }
}' 10001:0
echo "Stack security is set up"
