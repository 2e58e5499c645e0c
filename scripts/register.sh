#!/bin/sh
# Registers one service in the branch-proxy registry for as long as this runs,
# for images without Node: the same lease-based registration and the same
# deployment name (slug) as `branch-proxy register`, with nothing but sh, curl,
# base64 and sha256sum (plus tr, sed, cut), through etcd's v3 JSON gateway.
#
# Environment:
#   ETCD_ENDPOINTS   comma-separated etcd URLs (default http://127.0.0.1:2379)
#   REGISTRY_PREFIX  key prefix (default /deployment/)
#   BRANCH           raw git branch; the deployment is its slug ... or
#   DEPLOYMENT       the deployment name itself
#   SERVICE          service name (required)
#   PORT             port the service is reached on (required)
#   IP               address the service is reached on (default: first address of `hostname -i`)
#   TTL              lease TTL in seconds (default 15)
#   FORCE=1          take over a deployment name owned by another branch
#   FALLBACK         raw git branch whose services this deployment's missing ones come from (slugged like BRANCH)
#   ETCD_CA_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE   TLS to etcd, as for the CLI
#   ETCD_USERNAME, ETCD_PASSWORD                  etcd auth, as for the CLI
#
# Runs in the foreground: grants a lease, writes the keys with it in one
# transaction, keeps the lease alive, and revokes it on TERM/INT (which removes
# exactly the keys still attached to it, never a newer instance's) and exits 0.
# If etcd forgets the lease (down too long, data lost), it registers again.
#
#   BRANCH="$CI_COMMIT_REF_NAME" SERVICE=web PORT=8080 sh register.sh &
set -u

log() { printf 'register.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# The deployment name of a raw branch; must match src/registration/slug.ts.
slugify() {
  s=$(printf '%s' "$1" | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C sed -e 's/[^a-z0-9][^a-z0-9]*/-/g' -e 's/^-*//' -e 's/-*$//')
  [ -n "$s" ] || return 1
  if [ "${#s}" -gt 40 ]; then
    head=$(printf '%s' "$s" | cut -c1-31 | sed 's/-*$//')
    hash=$(printf '%s' "$1" | sha256sum | cut -c1-8)
    s="$head-$hash"
  fi
  printf '%s\n' "$s"
}

if [ "${1:-}" = "--slug" ]; then
  slugify "$2" || die "branch \"$2\" has no letters or digits to name a deployment after"
  exit 0
fi

ETCD_ENDPOINTS=${ETCD_ENDPOINTS:-http://127.0.0.1:2379}
PREFIX=${REGISTRY_PREFIX:-/deployment/}
case "$PREFIX" in */) ;; *) PREFIX="$PREFIX/" ;; esac
TTL=${TTL:-15}
SERVICE=${SERVICE:-}
PORT=${PORT:-}
BRANCH=${BRANCH:-}
FORCE=${FORCE:-0}
FALLBACK=${FALLBACK:-}

if [ -n "$BRANCH" ]; then
  DEPLOYMENT=$(slugify "$BRANCH") || die "branch \"$BRANCH\" has no letters or digits to name a deployment after"
else
  DEPLOYMENT=${DEPLOYMENT:-}
  [ -n "$DEPLOYMENT" ] || die "set BRANCH (raw git branch) or DEPLOYMENT"
  printf '%s' "$DEPLOYMENT" | grep -Eq '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$' || die "DEPLOYMENT=\"$DEPLOYMENT\" is not a deployment name (lowercase letters, digits, dashes)"
fi
if [ -n "$FALLBACK" ]; then
  FALLBACK=$(slugify "$FALLBACK") || die "FALLBACK=\"$FALLBACK\" has no letters or digits to name a deployment after"
  [ "$FALLBACK" != "$DEPLOYMENT" ] || die "FALLBACK names this deployment itself; set it to the branch the missing services come from, such as main"
fi
printf '%s' "$SERVICE" | grep -Eq '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' || die "SERVICE=\"$SERVICE\" is not a service name (lowercase letters, digits, dashes)"
[ $((${#DEPLOYMENT} + 1 + ${#SERVICE})) -le 63 ] || die "$DEPLOYMENT-$SERVICE is longer than a DNS label (63 characters)"
case "$PORT" in '' | *[!0-9]*) die "PORT=\"$PORT\" is not a port number" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "PORT=$PORT is not a port number 1..65535"
case "$TTL" in '' | *[!0-9]*) die "TTL=\"$TTL\" is not a whole number of seconds" ;; esac
[ "$TTL" -ge 1 ] || die "TTL must be at least 1 second"
if [ -z "${IP:-}" ]; then
  IP=$(hostname -i 2>/dev/null | cut -d' ' -f1)
  case "$IP" in '' | 127.*) die "cannot tell this container's address (hostname -i gave \"$IP\"): set IP" ;; esac
fi

b64() { printf '%s' "$1" | base64 | tr -d '\n'; }
KEY_IP=$(b64 "${PREFIX}${DEPLOYMENT}/service/${SERVICE}/ip")
KEY_PORT=$(b64 "${PREFIX}${DEPLOYMENT}/service/${SERVICE}/port")
KEY_CREATED=$(b64 "${PREFIX}${DEPLOYMENT}/created")
KEY_BRANCH=$(b64 "${PREFIX}${DEPLOYMENT}/branch")
KEY_FALLBACK=$(b64 "${PREFIX}${DEPLOYMENT}/fallback")

# POSTs JSON to the first endpoint that answers; prints the reply.
call() {
  old_ifs=$IFS
  IFS=,
  for ep in $ETCD_ENDPOINTS; do
    IFS=$old_ifs
    case "$ep" in *://*) ;; *) ep="http://$ep" ;; esac
    if curl -fsS --max-time 5 -X POST -H 'Content-Type: application/json' ${TOKEN:+-H "Authorization: $TOKEN"} \
      ${ETCD_CA_FILE:+--cacert "$ETCD_CA_FILE"} ${ETCD_CERT_FILE:+--cert "$ETCD_CERT_FILE"} ${ETCD_KEY_FILE:+--key "$ETCD_KEY_FILE"} \
      -d "$2" "${ep%/}/v3$1" 2>/dev/null; then return 0; fi
  done
  IFS=$old_ifs
  return 1
}
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
json() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

TOKEN=
# With ETCD_USERNAME, gets a fresh auth token (they expire when unused); a no-op otherwise.
authenticate() {
  [ -n "${ETCD_USERNAME:-}" ] || return 0
  TOKEN=
  TOKEN=$(call /auth/authenticate "{\"name\":\"$(json "$ETCD_USERNAME")\",\"password\":\"$(json "${ETCD_PASSWORD:-}")\"}" | field token)
  [ -n "$TOKEN" ]
}

LEASE=
# Grants a lease and writes the keys with it; returns 1 when etcd is unreachable.
register() {
  authenticate || return 1
  lease=$(call /lease/grant "{\"TTL\":\"$TTL\"}" | field ID) || return 1
  [ -n "$lease" ] || return 1
  # Known before the keys are written, so a TERM arriving during the write still revokes it.
  LEASE=$lease
  if [ -n "$BRANCH" ]; then
    owner=$(call /kv/range "{\"key\":\"$KEY_BRANCH\"}" | field value) || { LEASE=; return 1; }
    if [ -n "$owner" ] && [ "$(printf '%s' "$owner" | base64 -d)" != "$BRANCH" ] && [ "$FORCE" != 1 ]; then
      call /lease/revoke "{\"ID\":\"$lease\"}" >/dev/null
      LEASE=
      die "deployment \"$DEPLOYMENT\" belongs to branch \"$(printf '%s' "$owner" | base64 -d)\", not \"$BRANCH\" (same slug); set DEPLOYMENT to another name or FORCE=1"
    fi
  fi
  puts="{\"request_put\":{\"key\":\"$KEY_IP\",\"value\":\"$(b64 "$IP")\",\"lease\":\"$lease\"}},{\"request_put\":{\"key\":\"$KEY_PORT\",\"value\":\"$(b64 "$PORT")\",\"lease\":\"$lease\"}}"
  created="{\"request_put\":{\"key\":\"$KEY_CREATED\",\"value\":\"$(b64 "$(date -u +%Y-%m-%dT%H:%M:%SZ)")\"}}"
  branch=""
  [ -n "$BRANCH" ] && branch=",{\"request_put\":{\"key\":\"$KEY_BRANCH\",\"value\":\"$(b64 "$BRANCH")\"}}"
  # The base (no lease) is written every time, so changing FALLBACK takes effect on the next start.
  [ -n "$FALLBACK" ] && puts="$puts,{\"request_put\":{\"key\":\"$KEY_FALLBACK\",\"value\":\"$(b64 "$FALLBACK")\"}}"
  # One transaction: ip and port with the lease; created and branch (no lease) only for a new deployment.
  txn="{\"compare\":[{\"key\":\"$KEY_CREATED\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[$puts,$created$branch],\"failure\":[$puts]}"
  call /kv/txn "$txn" >/dev/null || { call /lease/revoke "{\"ID\":\"$lease\"}" >/dev/null; LEASE=; return 1; }
  log "registered $DEPLOYMENT-$SERVICE -> $IP:$PORT (lease $LEASE, TTL ${TTL}s)"
}

stop() {
  if [ -n "$LEASE" ] && call /lease/revoke "{\"ID\":\"$LEASE\"}" >/dev/null; then
    log "deregistered $DEPLOYMENT-$SERVICE"
  else
    log "could not revoke the lease; the route expires within ${TTL}s"
  fi
  exit 0
}
trap stop TERM INT

interval=$((TTL / 3))
[ "$interval" -ge 1 ] || interval=1
outage=0
while :; do
  if [ -z "$LEASE" ]; then
    if register; then
      outage=0
    elif [ "$outage" = 0 ]; then
      log "etcd unreachable at $ETCD_ENDPOINTS; retrying"
      outage=1
    fi
  else
    reply=$(call /lease/keepalive "{\"ID\":\"$LEASE\"}")
    if [ $? -ne 0 ]; then
      [ "$outage" = 1 ] || log "lease keep-alive failing; retrying"
      outage=1
      authenticate
    elif ttl=$(printf '%s' "$reply" | field TTL) && [ -n "$ttl" ] && [ "$ttl" != 0 ]; then
      [ "$outage" = 0 ] || log "lease keep-alive working again"
      outage=0
    else
      log "lease $LEASE expired; registering again"
      LEASE=
      continue
    fi
  fi
  # `wait` returns at once on TERM/INT, where a plain `sleep` would delay the trap.
  sleep "$interval" &
  wait $!
done
