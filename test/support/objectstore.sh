#!/usr/bin/env bash
# Our team's objectstore.sh (from the shared peers/ scripts of the object-store study, kept here so a
# clean clone has it; the tests start it through test/support/objectstore.ts with unique ports and dir).
# objectstore.sh — start/stop a real OpenStack Swift "all in one" with the s3api
# middleware (S3-compatible API) on loopback, for tests. Debian 12 packages only.
#
#   objectstore.sh start    # build config + rings in $OBJECTSTORE_DIR, start servers, wait, create bucket
#   objectstore.sh stop     # kill exactly the PIDs recorded in $OBJECTSTORE_DIR/run/*.pid
#   objectstore.sh status   # show recorded PIDs and whether they are alive
#   objectstore.sh env      # print the S3 connection settings (also written to $OBJECTSTORE_DIR/s3.env)
#
# Needs (root, once):  apt-get update && apt-get install -y --no-install-recommends \
#     swift swift-proxy swift-object swift-container swift-account memcached
# (memcached is optional: tempauth works without a running memcached, it only logs errors.)
#
# Data survives stop/start; OBJECTSTORE_FRESH=1 wipes it on start.
# Everything lives under $OBJECTSTORE_DIR (default ${TMPDIR:-/tmp}/objectstore):
#   etc/ (swift.conf, rings, *-server.conf)  node/dN/ (object data)  log/  run/*.pid  s3.env
# All listeners bind 127.0.0.1 only. Ports are variables (defaults below).
# Note: the servers need a filesystem with user xattrs (ext4/xfs/btrfs; tmpfs only on Linux >= 6.6).
set -euo pipefail

DIR="${OBJECTSTORE_DIR:-${TMPDIR:-/tmp}/objectstore}"
PROXY_PORT="${OBJECTSTORE_PORT:-18080}"          # S3 (and Swift) endpoint
OBJ_PORT="${OBJECTSTORE_OBJ_PORT:-16010}"
CONT_PORT="${OBJECTSTORE_CONT_PORT:-16011}"
ACCT_PORT="${OBJECTSTORE_ACCT_PORT:-16012}"
MC_PORT="${OBJECTSTORE_MEMCACHED_PORT:-16211}"
REPLICAS="${OBJECTSTORE_REPLICAS:-1}"             # >1: that many devices, each holding one replica
REGION="${OBJECTSTORE_REGION:-us-east-1}"         # clients MUST sign SigV4 with exactly this region
ACCOUNT="${OBJECTSTORE_ACCOUNT:-images}"
USER_NAME="${OBJECTSTORE_USER:-svc}"
SECRET="${OBJECTSTORE_SECRET:-imgsvc-test-secret}"
BUCKET="${OBJECTSTORE_BUCKET:-images}"            # created at start; empty = none
START_TIMEOUT="${OBJECTSTORE_START_TIMEOUT:-60}"
PY=/usr/bin/python3   # swift is installed for Debian's python, not for any pyenv/venv python3

RUN="$DIR/run"; ETC="$DIR/etc"; LOG="$DIR/log"
ACCESS_KEY="$ACCOUNT:$USER_NAME"                  # tempauth user "account:user" is the S3 access key id

die() { echo "objectstore: $*" >&2; exit 1; }

running() {  # running PID -> 0 if the process exists and is not a zombie (zombies have no cmdline)
  [ -n "$(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null)" ]
}

alive() {  # alive NAME -> 0 if the recorded pid is running and is still ours
  local f="$RUN/$1.pid" p
  [ -f "$f" ] || return 1
  p=$(cat "$f")
  [ -n "$p" ] && running "$p" || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$(cat "$RUN/$1.tag" 2>/dev/null || echo "$DIR")"
}

spawn() {  # spawn NAME TAG CMD... -> run in background, record pid + a tag that identifies it
  local name=$1 tag=$2; shift 2
  "$@" >"$LOG/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  printf '%s' "$tag" >"$RUN/$name.tag"
}

write_env() {
  cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
S3_REGION=$REGION
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET
S3_BUCKET=$BUCKET
S3_FORCE_PATH_STYLE=true
EOF
}

start() {
  for b in swift-proxy-server swift-object-server swift-container-server swift-account-server; do
    command -v "$b" >/dev/null || die "$b not found: apt-get install swift swift-proxy swift-object swift-container swift-account memcached"
  done
  for n in proxy object container account memcached; do
    alive "$n" && die "already running ($n pid $(cat "$RUN/$n.pid")); run: $0 stop"
  done
  if [ "${OBJECTSTORE_FRESH:-0}" = 1 ]; then rm -rf "$DIR/node" "$ETC"; fi
  mkdir -p "$ETC" "$LOG" "$RUN"
  local i me; me=$(id -un)
  for i in $(seq 1 "$REPLICAS"); do mkdir -p "$DIR/node/d$i"; done

  # keep an existing swift.conf: its hash prefix/suffix decide where existing data lives
  [ -f "$ETC/swift.conf" ] || cat >"$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
swift_hash_path_prefix = $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
max_file_size = 5368709122
EOF

  # Rings: one python run instead of 9 swift-ring-builder calls (~0.5 s each).
  "$PY" - "$ETC" "$REPLICAS" "$OBJ_PORT" "$CONT_PORT" "$ACCT_PORT" <<'PYEOF'
import sys
from swift.common.ring import RingBuilder
etc, replicas = sys.argv[1], int(sys.argv[2])
ports = dict(object=int(sys.argv[3]), container=int(sys.argv[4]), account=int(sys.argv[5]))
for kind, port in ports.items():
    b = RingBuilder(8, replicas, 1)
    for i in range(replicas):
        b.add_dev({'id': i, 'region': 1, 'zone': i + 1, 'ip': '127.0.0.1', 'port': port,
                   'device': 'd%d' % (i + 1), 'weight': 100.0, 'meta': ''})
    b.rebalance(seed=1)
    b.save('%s/%s.builder' % (etc, kind))
    b.get_ring().save('%s/%s.ring.gz' % (etc, kind))
PYEOF

  local kind port
  for kind in object container account; do
    case $kind in object) port=$OBJ_PORT ;; container) port=$CONT_PORT ;; account) port=$ACCT_PORT ;; esac
    cat >"$ETC/$kind-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = $me
swift_dir = $ETC
devices = $DIR/node
mount_check = false
log_name = $kind-server
log_level = WARNING

[pipeline:main]
pipeline = healthcheck $kind-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$kind-server]
use = egg:swift#$kind
EOF
  done

  cat >"$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = 0
user = $me
swift_dir = $ETC
log_name = proxy-server
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MC_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk

[filter:s3api]
use = egg:swift#s3api
# SigV4 credential scope region must equal this (else 400 AuthorizationHeaderMalformed)
location = $REGION
# AWS allows 10000 parts; swift's defaults are 1000 (s3api) and 1000 segments (slo)
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
# S3 access key id = "$ACCESS_KEY", secret = the key below
user_${ACCOUNT}_${USER_NAME} = $SECRET .admin

[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000
max_manifest_size = 16777216
[filter:dlo]
use = egg:swift#dlo
EOF

  if command -v memcached >/dev/null; then
    spawn memcached "-p $MC_PORT" memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 -u "$me"
  fi
  for kind in object container account proxy; do
    spawn "$kind" "$ETC/$kind-server.conf" "swift-$kind-server" "$ETC/$kind-server.conf" -v
  done

  # wait until every server answers /healthcheck
  local deadline=$((SECONDS + START_TIMEOUT)) ready
  while :; do
    ready=1
    for port in "$OBJ_PORT" "$CONT_PORT" "$ACCT_PORT" "$PROXY_PORT"; do
      "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthcheck', timeout=1)" 2>/dev/null || { ready=0; break; }
    done
    [ $ready = 1 ] && break
    for kind in object container account proxy; do
      alive "$kind" || { tail -n 20 "$LOG/$kind.log" >&2; stop; die "$kind server exited during start"; }
    done
    [ $SECONDS -lt $deadline ] || { stop; die "not ready after ${START_TIMEOUT}s (logs in $LOG)"; }
    sleep 0.2
  done

  # create the bucket through the native Swift API (an S3 bucket is a Swift container)
  if [ -n "$BUCKET" ]; then
    "$PY" - "$PROXY_PORT" "$ACCESS_KEY" "$SECRET" "$BUCKET" <<'PYEOF'
import sys, urllib.request
port, user, key, bucket = sys.argv[1:5]
r = urllib.request.urlopen(urllib.request.Request(
    'http://127.0.0.1:%s/auth/v1.0' % port, headers={'X-Auth-User': user, 'X-Auth-Key': key}))
tok, url = r.headers['X-Auth-Token'], r.headers['X-Storage-Url']
urllib.request.urlopen(urllib.request.Request(url + '/' + bucket, method='PUT', headers={'X-Auth-Token': tok}))
PYEOF
  fi
  write_env
  echo "objectstore: swift+s3api up at http://127.0.0.1:$PROXY_PORT (settings in $DIR/s3.env)"
}

stop() {
  local n f p i
  for n in proxy object container account memcached; do
    f="$RUN/$n.pid"; [ -f "$f" ] || continue
    p=$(cat "$f")
    if alive "$n"; then
      kill "$p" 2>/dev/null || true
      for i in $(seq 1 50); do running "$p" || break; sleep 0.1; done
      if running "$p"; then kill -9 "$p" 2>/dev/null || true; fi
    fi
    rm -f "$f" "$RUN/$n.tag"
  done
}

status() {
  local n rc=0
  for n in proxy object container account memcached; do
    if alive "$n"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"
    elif [ $n = memcached ] && ! command -v memcached >/dev/null; then echo "memcached: not installed (optional)"
    else echo "$n: stopped"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) write_env; cat "$DIR/s3.env" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
