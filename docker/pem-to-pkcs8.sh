#!/usr/bin/env bash
# pem-to-pkcs8.sh IN OUT: write the unencrypted RSA private key IN (PEM; PKCS#1 as
# `elasticsearch-certutil cert --pem` makes it, or already PKCS#8) to OUT as PKCS#8
# PEM, the only form Logstash's beats and http inputs read. Bash and coreutils
# only: the setup service runs in the Elasticsearch image, whose base may lack
# the openssl command.
set -euo pipefail
in=$1
out=$2

first=$(head -n 1 "$in")
case "$first" in
  "-----BEGIN PRIVATE KEY-----")
    cp "$in" "$out"
    exit 0
    ;;
  "-----BEGIN RSA PRIVATE KEY-----") ;;
  *)
    echo "pem-to-pkcs8: $in is not an RSA private key in PEM (first line: $first)" >&2
    exit 1
    ;;
esac
if grep -q '^Proc-Type:' "$in"; then
  echo "pem-to-pkcs8: $in is encrypted; give an unencrypted key" >&2
  exit 1
fi

# DER length octets of $1 (definite form, up to 65535), as printf escapes.
der_length() {
  if [ "$1" -lt 128 ]; then
    printf '\\x%02x' "$1"
  elif [ "$1" -lt 256 ]; then
    printf '\\x81\\x%02x' "$1"
  else
    printf '\\x82\\x%02x\\x%02x' $(($1 >> 8)) $(($1 & 255))
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v -- '-----' "$in" | base64 -d > "$work/pkcs1.der"
size=$(wc -c < "$work/pkcs1.der")
# PrivateKeyInfo: version 0, AlgorithmIdentifier {rsaEncryption, NULL},
# OCTET STRING holding the PKCS#1 key; then the outer SEQUENCE around it.
{
  printf '\x02\x01\x00'
  printf '\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00'
  printf '\x04'
  printf "$(der_length "$size")"
} > "$work/prefix.der"
inner=$(($(wc -c < "$work/prefix.der") + size))
umask 077
{
  echo "-----BEGIN PRIVATE KEY-----"
  { printf '\x30'; printf "$(der_length "$inner")"; cat "$work/prefix.der" "$work/pkcs1.der"; } \
    | base64 -w 64
  echo "-----END PRIVATE KEY-----"
} > "$out"
