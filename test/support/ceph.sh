#!/usr/bin/env bash
# ceph.sh — start/stop a single-node Ceph (one mon, one BlueStore OSD over a sparse file, radosgw; no mgr)
# on loopback with its S3 API, for the opt-in RGW run of the S3 blob store tests. Debian 12 packages only.
# The recipe and its gotchas are in the object-store study (shared specs, object-store.md §3).
#
#   ceph.sh start    # write ceph.conf in $CEPH_DIR, mkfs mon + OSD, start mon, OSD, rgw, wait, create user + bucket
#   ceph.sh stop     # stop exactly the PIDs recorded in $CEPH_DIR/run/*.pid (rgw, OSD, mon, in that order)
#   ceph.sh status   # show recorded PIDs and whether they are alive
#   ceph.sh env      # print the S3 connection settings (also written to $CEPH_DIR/s3.env)
#
# Needs (root, once):  apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
#
# Data survives stop/start (the cluster is only created when $CEPH_DIR has none); CEPH_FRESH=1 wipes it.
# Everything lives under $CEPH_DIR (default ${TMPDIR:-/tmp}/ceph): ceph.conf, mon/, osd0/ (a sparse 20 GiB
# block file, ~300 MiB used), rgw/, log/, run/*.pid, s3.env. Nothing under /var/lib/ceph, /var/log/ceph or
# /var/run/ceph is touched. All listeners bind 127.0.0.1. Ports are variables (defaults below); the OSD
# takes its ports from CEPH_MS_PORT_MIN..CEPH_MS_PORT_MIN+CEPH_MS_PORT_COUNT-1.
# Authentication is off (auth none) inside the cluster: it is a throwaway test cluster on loopback. The
# S3 API still signs every request (SigV4) with the user created here.
set -euo pipefail

DIR="${CEPH_DIR:-${TMPDIR:-/tmp}/ceph}"
MON_PORT="${CEPH_MON_PORT:-13300}"                # msgr2
MON_V1_PORT="${CEPH_MON_V1_PORT:-16789}"          # legacy msgr1
MS_PORT_MIN="${CEPH_MS_PORT_MIN:-17000}"          # OSD listeners (public, cluster, heartbeats)
MS_PORT_COUNT="${CEPH_MS_PORT_COUNT:-16}"
RGW_PORT="${CEPH_RGW_PORT:-17480}"                # S3 endpoint
REGION=us-east-1                                  # RGW's zonegroup is "default": another region sends a
                                                  # LocationConstraint that CreateBucket refuses
USER_ID="${CEPH_USER:-images}"
ACCESS_KEY="${CEPH_ACCESS_KEY:-IMAGETRUSTTESTKEY000}"
SECRET="${CEPH_SECRET:-imgsvc-ceph-test-secret}"
BUCKET="${CEPH_BUCKET:-images}"                   # created at start; empty = none
START_TIMEOUT="${CEPH_START_TIMEOUT:-120}"

RUN="$DIR/run"; LOG="$DIR/log"; CONF="$DIR/ceph.conf"
export CEPH_CONF="$CONF"
CEPH_ARGS=(--conf "$CONF")

die() { echo "ceph: $*" >&2; exit 1; }

running() {  # running PID -> 0 if the process exists and is not a zombie (zombies have no cmdline)
  [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$1/cmdline")" ]
}

alive() {  # alive NAME -> 0 if the recorded pid is running and is still ours (its command line names our conf)
  local f="$RUN/$1.pid" p
  [ -f "$f" ] || return 1
  p=$(cat "$f")
  [ -n "$p" ] && running "$p" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$CONF"
}

spawn() {  # spawn NAME CMD... -> run in the foreground of a background job (-f), record its pid
  local name=$1; shift
  "$@" >"$LOG/$name.out" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

write_env() {
  cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_REGION=$REGION
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET
S3_BUCKET=$BUCKET
S3_FORCE_PATH_STYLE=true
EOF
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind port min = $MS_PORT_MIN
ms bind port max = $((MS_PORT_MIN + MS_PORT_COUNT - 1))
auth cluster required = none
auth service required = none
auth client required = none
# Every path the Debian daemons would take under /var (gotcha 5).
run dir = $RUN
crash dir = $DIR/crash
log file = $LOG/\$name.log
admin socket = $RUN/\$name.asok
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
# One host: the CRUSH rule must choose among OSDs, set before the mon's mkfs.
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
[mon]
mon data = $DIR/mon
# Every osdmap change (the OSD booting, each of rgw's pools) waits for a Paxos proposal, 1 s apart by
# default: start-up is mostly those waits.
paxos propose interval = 0.1
[osd]
osd data = $DIR/osd0
osd objectstore = bluestore
bluestore block size = 21474836480
osd memory target = 939524096
bluestore cache autotune = true
[client]
# radosgw's built-in defaults demand cephx and a secure mon connection; with auth none it then hangs
# forever on get_initial_auth_request -13 (gotcha 1).
ms mon client mode = crc
[client.rgw.r]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw gc obj min wait = 60
EOF
}

start() {
  for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$b" >/dev/null || die "$b not found: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common"
  done
  for n in rgw osd mon; do
    alive "$n" && die "already running ($n pid $(cat "$RUN/$n.pid")); run: $0 stop"
  done
  if [ "${CEPH_FRESH:-0}" = 1 ]; then rm -rf "$DIR/mon" "$DIR/osd0" "$DIR/rgw" "$DIR/crash" "$DIR/monmap" "$CONF" "$LOG"; fi
  mkdir -p "$RUN" "$LOG" "$DIR/crash" "$DIR/rgw"
  local deadline=$((SECONDS + START_TIMEOUT)) fresh=0

  if [ ! -f "$CONF" ] || [ ! -d "$DIR/mon" ]; then
    fresh=1
    mkdir -p "$DIR/mon" "$DIR/osd0"
    local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
    write_conf "$fsid"
    monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]" \
      "$DIR/monmap" >/dev/null
    ceph-mon "${CEPH_ARGS[@]}" --id a --mkfs --monmap "$DIR/monmap" >"$LOG/mon-mkfs.out" 2>&1 \
      || { cat "$LOG/mon-mkfs.out" >&2; die "mon mkfs failed"; }
  fi

  spawn mon ceph-mon "${CEPH_ARGS[@]}" --id a -f
  # The mon answers once it has formed its quorum of one.
  until ceph "${CEPH_ARGS[@]}" --connect-timeout 2 mon stat >/dev/null 2>&1; do
    alive mon || { tail -n 20 "$LOG/mon.out" "$LOG/mon.a.log" >&2 2>/dev/null; stop; die "ceph-mon exited during start"; }
    [ $SECONDS -lt $deadline ] || { stop; die "mon not up after ${START_TIMEOUT}s (logs in $LOG)"; }
    sleep 0.2
  done

  if [ $fresh = 1 ]; then
    local id; id=$(ceph "${CEPH_ARGS[@]}" osd create)
    [ "$id" = 0 ] || { stop; die "expected OSD id 0, got '$id'"; }
    ceph-osd "${CEPH_ARGS[@]}" --id 0 --mkfs >"$LOG/osd-mkfs.out" 2>&1 \
      || { cat "$LOG/osd-mkfs.out" >&2; stop; die "OSD mkfs failed"; }
  fi
  spawn osd ceph-osd "${CEPH_ARGS[@]}" --id 0 -f
  # The OSD counts once the mon sees it up (rgw's pool creation waits on it otherwise, silently).
  until [ "$(ceph "${CEPH_ARGS[@]}" --connect-timeout 2 osd dump --format json 2>/dev/null \
    | grep -o '"up":1' | head -n1)" = '"up":1' ]; do
    alive osd || { tail -n 20 "$LOG/osd.out" "$LOG/osd.0.log" >&2 2>/dev/null; stop; die "ceph-osd exited during start"; }
    [ $SECONDS -lt $deadline ] || { stop; die "OSD not up after ${START_TIMEOUT}s (logs in $LOG)"; }
    sleep 0.2
  done

  spawn rgw radosgw "${CEPH_ARGS[@]}" -n client.rgw.r -f
  # rgw's first start creates its pools (a few seconds); HTTP answers once that is done.
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"; do
    alive rgw || { tail -n 20 "$LOG/rgw.out" "$LOG/client.rgw.r.log" >&2 2>/dev/null; stop; die "radosgw exited during start"; }
    [ $SECONDS -lt $deadline ] || { stop; die "radosgw not up after ${START_TIMEOUT}s (logs in $LOG)"; }
    sleep 0.2
  done

  if [ $fresh = 1 ]; then
    radosgw-admin "${CEPH_ARGS[@]}" user create --uid "$USER_ID" --display-name "$USER_ID" \
      --access-key "$ACCESS_KEY" --secret-key "$SECRET" >"$LOG/user-create.out" 2>&1 \
      || { cat "$LOG/user-create.out" >&2; stop; die "radosgw-admin user create failed"; }
    if [ -n "$BUCKET" ]; then
      # radosgw-admin has no "bucket create": the user creates it through S3 (curl signs SigV4 itself).
      # RGW wants the payload hash header, which curl 7.88 does not add: that of an empty body.
      curl -sf -o /dev/null -X PUT --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET" \
        -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
        "http://127.0.0.1:$RGW_PORT/$BUCKET" \
        || { stop; die "creating bucket $BUCKET failed"; }
    fi
  fi
  write_env
  echo "ceph: radosgw up at http://127.0.0.1:$RGW_PORT (settings in $DIR/s3.env)"
}

stop() {
  local n f p i
  for n in rgw osd mon; do
    f="$RUN/$n.pid"; [ -f "$f" ] || continue
    p=$(cat "$f")
    if alive "$n"; then
      kill "$p" 2>/dev/null || true
      for i in $(seq 1 100); do running "$p" || break; sleep 0.1; done
      if running "$p"; then kill -9 "$p" 2>/dev/null || true; fi
    fi
    rm -f "$f"
  done
}

status() {
  local n rc=0
  for n in mon osd rgw; do
    if alive "$n"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"; else echo "$n: stopped"; rc=1; fi
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
