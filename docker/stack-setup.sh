#!/usr/bin/env bash
# One-shot setup of the compose stack's security, run in the Elasticsearch image as root:
#   1. a CA and a certificate for es01 (kept in the `certs` volume, made once);
#   2. once Elasticsearch answers: the kibana_system password (Kibana logs in with it);
#   3. an API key for Logstash allowed only to write the mlmon data streams
#      (reused while it still authenticates), stored for the Logstash container.
set -euo pipefail

: "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
: "${KIBANA_PASSWORD:?set KIBANA_PASSWORD in .env}"

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
# Elasticsearch runs as 1000:0 and reads keys through group 0; the CA
# certificate is public and read by every other container.
chown -R root:root "$certs"
find "$certs" -type d -exec chmod 755 {} \;
find "$certs" -type f -exec chmod 640 {} \;
chmod 644 "$certs/ca/ca.crt"

curl_es() {
  curl --silent --show-error --cacert "$certs/ca/ca.crt" "$@"
}

echo "Waiting for Elasticsearch"
until curl_es "$es" | grep -q "missing authentication credentials"; do sleep 5; done

echo "Setting the kibana_system password"
# Retried: right after start the security index may not accept writes yet.
until curl_es -X POST -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
    "$es/_security/user/kibana_system/_password" -d "{\"password\":\"${KIBANA_PASSWORD}\"}" \
    | grep -q "^{}"; do
  sleep 5
done

key_dir="$certs/mlmon"
key_file="$key_dir/logstash_api_key"
mkdir -p "$key_dir"
if [ -s "$key_file" ] && [ "$(curl_es -o /dev/null -w '%{http_code}' \
    -H "Authorization: ApiKey $(tr -d '\n' < "$key_file" | base64 -w0)" \
    "$es/_security/_authenticate")" = "200" ]; then
  echo "Reusing the Logstash API key"
else
  echo "Creating the Logstash API key"
  response=$(curl_es -X POST -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
    "$es/_security/api_key" -d '{
      "name": "mlmon-logstash",
      "role_descriptors": {
        "mlmon_logstash_writer": {
          "cluster": ["monitor"],
          "indices": [{"names": ["logs-mlmon.*-*"], "privileges": ["create_doc", "auto_configure"]}]
        }
      }
    }')
  id=$(printf '%s' "$response" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  key=$(printf '%s' "$response" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
  if [ -z "$id" ] || [ -z "$key" ]; then
    echo "Could not create the Logstash API key: $response" >&2
    exit 1
  fi
  printf '%s:%s' "$id" "$key" > "$key_file"
fi
# Logstash runs as uid 1000.
chown 1000:0 "$key_file"
chmod 640 "$key_file"
echo "Stack security is set up"
