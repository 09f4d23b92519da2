#!/usr/bin/env bash
# A real Confluent-compatible Schema Registry for the integration suite: Apicurio Registry from its
# prebuilt Quarkus distribution (fetched once with Maven into the cache, no Docker, nothing built),
# with H2 storage in a file under the run directory so a stop/start keeps the registered schemas.
# Its Confluent API is served at http://127.0.0.1:$KRCDEV_SR_PORT/apis/ccompat/v7.
#
#   scripts/schema-registry.sh up      fetch (once) and start it (idempotent); prints the URL
#   scripts/schema-registry.sh down    stop it (by pid) and remove its data
#   scripts/schema-registry.sh stop    stop it (SIGTERM, wait), keep its data (for start)
#   scripts/schema-registry.sh start   start it again on the same data
#   scripts/schema-registry.sh status  say whether it runs
#   scripts/schema-registry.sh url     print the Confluent API base URL
#
# Environment knobs (defaults in brackets):
#   KRCDEV_SR [1]                 0: up/down do nothing (services.sh calls this script)
#   KRCDEV_SR_VERSION [3.3.3]     3.3.x needs Java >= 21 (the Temurin JDK beside the default one
#                                 is used; without one, and this unset, 3.0.9 on Java 17)
#   KRCDEV_SR_PORT [18081]  KRCDEV_SR_MANAGEMENT_PORT [19081]
#   KRCDEV_CACHE_DIR, KRCDEV_RUN_DIR, KRCDEV_MAVEN_REPO, MVN: as in scripts/services.sh
#   KRCDEV_SR_START_TIMEOUT [90] (seconds)
set -euo pipefail

HOST=127.0.0.1
CACHE_DIR=${KRCDEV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-redis-connector}
RUN_DIR=${KRCDEV_RUN_DIR:-/tmp/krc-services}
SR_VERSION=${KRCDEV_SR_VERSION:-3.3.3}
SR_PORT=${KRCDEV_SR_PORT:-18081}
SR_MGMT_PORT=${KRCDEV_SR_MANAGEMENT_PORT:-19081}
START_TIMEOUT=${KRCDEV_SR_START_TIMEOUT:-90}
MVN=${MVN:-mvn}
# 2.8: the 3.x plugins read the artifact's descriptor, whose parent POM is not served for 3.0.x.
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:2.8

DIST=$CACHE_DIR/apicurio-registry-$SR_VERSION
SR_DIR=$RUN_DIR/schema-registry
SR_PID=$SR_DIR/pid
SR_LOG=$SR_DIR/registry.log
URL=http://$HOST:$SR_PORT/apis/ccompat/v7

log() { printf 'schema-registry: %s\n' "$*" >&2; }
die() { printf 'schema-registry: error: %s\n' "$*" >&2; exit 1; }

# port_open reports whether something accepts connections on $HOST:$1.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

running_pid() {
  local pid
  [[ -f $SR_PID ]] || return 1
  pid=$(cat "$SR_PID")
  kill -0 "$pid" 2>/dev/null || return 1
  grep -qa apicurio "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

fetch() {
  [[ -d $DIST ]] && return 0
  mkdir -p "$CACHE_DIR"
  local tmp; tmp=$(mktemp -d "$CACHE_DIR/.apicurio-XXXXXX")
  log "fetching Apicurio Registry $SR_VERSION (once)"
  local repo=()
  [[ -n ${KRCDEV_MAVEN_REPO:-} ]] && repo=(-Dmaven.repo.local="$KRCDEV_MAVEN_REPO")
  "$MVN" -q -B "${repo[@]}" "$DEP_PLUGIN:copy" \
    -Dartifact="io.apicurio:apicurio-registry-app:$SR_VERSION:tar.gz:all" -DoutputDirectory="$tmp" \
    || { rm -rf "$tmp"; die "maven could not fetch io.apicurio:apicurio-registry-app:$SR_VERSION"; }
  mkdir -p "$tmp/dist"
  tar -xzf "$tmp/apicurio-registry-app-$SR_VERSION-all.tar.gz" -C "$tmp/dist"
  mv "$tmp/dist" "$DIST"
  rm -rf "$tmp"
}

java_for_version() {
  case $SR_VERSION in
    3.0.*) command -v "${JAVA:-java}" ;;
    *) # class files of Java 21: a Temurin JDK >= 21 beside the default one
       local jvm j; jvm=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
       for j in "$jvm"/temurin-2[1-9]*/bin/java "$jvm"/temurin-[3-9][0-9]*/bin/java; do
         [[ -x $j ]] && { echo "$j"; return 0; }
       done
       die "Apicurio $SR_VERSION needs Java >= 21 (or set KRCDEV_SR_VERSION=3.0.9 for Java 17)" ;;
  esac
}

start() {
  if pid=$(running_pid); then log "already running (pid $pid) at $URL"; echo "$URL"; return 0; fi
  if [[ -z ${KRCDEV_SR_VERSION:-} && $SR_VERSION != 3.0.* ]] && ! (java_for_version >/dev/null 2>&1); then
    SR_VERSION=3.0.9 DIST=$CACHE_DIR/apicurio-registry-3.0.9
    log "no Java >= 21 found: using Apicurio Registry $SR_VERSION on Java 17"
  fi
  # A registry this run dir did not start (another run dir's, on the same
  # port) would answer the start-up check below and be taken for ours.
  if port_open "$SR_PORT" || port_open "$SR_MGMT_PORT"; then
    die "$HOST:$SR_PORT or $HOST:$SR_MGMT_PORT is in use by something not started for $RUN_DIR (another run dir's registry? choose other KRCDEV_SR_PORT / KRCDEV_SR_MANAGEMENT_PORT, or KRCDEV_SR=0)"
  fi
  fetch
  mkdir -p "$SR_DIR"
  local jar=$DIST/quarkus-run.jar java
  [[ -f $jar ]] || jar=$(ls "$DIST"/*-runner.jar)   # 3.3.x: fast-jar; 3.0.x: runner jar
  java=$(java_for_version)
  # setsid: the registry outlives this shell; fd 9 (scripts/services.sh's lock) is closed.
  setsid "$java" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=$HOST -Dquarkus.http.port="$SR_PORT" \
    -Dquarkus.management.host=$HOST -Dquarkus.management.port="$SR_MGMT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:file:$SR_DIR/db/registry;DB_CLOSE_ON_EXIT=FALSE" \
    -Dapicurio.datasource.jdbc.initial-size=1 -Dapicurio.datasource.jdbc.min-size=1 \
    -Dapicurio.datasource.jdbc.max-size=10 \
    -Dquarkus.http.access-log.enabled=false \
    -jar "$jar" >>"$SR_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$SR_PID"
  local pid; pid=$(cat "$SR_PID")
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if curl -sf -o /dev/null "$URL/subjects"; then log "up (pid $pid) at $URL"; echo "$URL"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$SR_LOG" >&2; die "the registry exited during start-up (log: $SR_LOG)"; }
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  die "the registry did not answer on $URL within ${START_TIMEOUT}s (log: $SR_LOG)"
}

stop() {
  local pid
  pid=$(running_pid) || { log "not running"; return 0; }
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  log "killed (pid $pid) after 30s"
}

case ${1:-} in
up) [[ ${KRCDEV_SR:-1} == 0 ]] || start ;;
down) if [[ ${KRCDEV_SR:-1} != 0 ]]; then stop; rm -rf "$SR_DIR/db" "$SR_PID"; fi ;;
start) start ;;
stop) stop ;;
status) if pid=$(running_pid); then echo "schema registry: running (pid $pid) at $URL, log $SR_LOG"; else echo "schema registry: not running"; fi ;;
url) echo "$URL" ;;
fetch) fetch ;;
*) sed -n '2,20p' "$0"; exit 2 ;;
esac
