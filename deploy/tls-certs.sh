#!/usr/bin/env bash
# Makes a private CA and a certificate for a quantgrid coordinator, for
# `quantgrid coordinator --tls-cert --tls-key` and `--tls-ca` on workers and
# clients. The CA's key stays in OUT; keep it off the cluster's machines.
#
#   deploy/tls-certs.sh OUT HOST [HOST...]
#
# HOSTs are the names and IP addresses workers dial the coordinator by (each
# goes into the certificate's subjectAltName; workers check it). Writes
#   OUT/ca.pem OUT/ca.key                 the cluster's CA (give ca.pem to every peer)
#   OUT/coordinator.pem OUT/coordinator.key   the coordinator's certificate and key
# Existing files are kept: run it again with new HOSTs after removing coordinator.*.
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 OUT HOST [HOST...]" >&2
  exit 2
fi
out="$1"
shift
mkdir -p "$out"
umask 077
san=""
for host in "$@"; do
  if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then san+="IP:$host,"; else san+="DNS:$host,"; fi
done
san="${san%,}"
days=825
if [[ ! -f "$out/ca.pem" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "$days" -subj "/CN=quantgrid cluster CA" \
    -keyout "$out/ca.key" -out "$out/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
if [[ ! -f "$out/coordinator.pem" ]]; then
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj "/CN=$1" -keyout "$out/coordinator.key" \
    -out "$out/coordinator.csr" 2>/dev/null
  ext="$(mktemp)"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$san" >"$ext"
  openssl x509 -req -in "$out/coordinator.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$out/coordinator.pem" 2>/dev/null
  rm -f "$ext" "$out/coordinator.csr"
fi
chmod 644 "$out/ca.pem" "$out/coordinator.pem"
echo "tls-certs: CA $out/ca.pem; coordinator $out/coordinator.pem (key $out/coordinator.key) for $san"
