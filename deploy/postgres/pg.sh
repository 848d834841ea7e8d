#!/usr/bin/env bash
# Private local PostgreSQL cluster for development and integration tests.
#
# Usage: deploy/postgres/pg.sh start|stop|status|restart|kill|createdb NAME
#
#   start          install PostgreSQL with apt-get if missing, initdb <state>/data once, start it
#                  (pg_ctl -w; after a crash or `kill` this runs crash recovery) and create the
#                  service databases if missing; if already running, only ensure the databases.
#                  Last stdout line: DATABASE_URL=postgresql://postgres@127.0.0.1:<port>/postgres
#   stop           pg_ctl stop -m fast
#   restart        stop (-m fast), then start (PG_PORT and the local settings are re-applied)
#   kill           SIGKILL the postmaster and all its children at once (fault injection, like a
#                  power cut), then remove its lock files (postmaster.pid, run/.s.PGSQL.*.lock):
#                  a killed postmaster that init has not reaped yet is a zombie, which pg_ctl
#                  and PostgreSQL take for a live server. No-op if not running. The next start
#                  runs crash recovery.
#   status         exit 0 if the cluster is running
#   createdb NAME  create database NAME if missing (server must be running);
#                  prints DATABASE_URL=postgresql://postgres@127.0.0.1:<port>/NAME
#
# Environment: PG_PORT (default 15432), PG_OS_USER (default portalpg),
#              PG_STATE_DIR (default <repo>/var/pg): the directory of one cluster, see below.
#                Several clusters with distinct state dirs and ports can run side by side.
#
# PostgreSQL refuses to run as root, so the cluster is owned and run by an unprivileged system
# user (created with useradd if missing) via runuser. That user must be able to traverse every
# directory above the state dir; missing o+x bits on ancestor directories are added (a note is
# printed on stderr when that happens). Layout (all under the state dir, owned by that user):
#   data/           the cluster (trust auth for local and loopback connections, user postgres,
#                   UTF8, C locale); data/portal-local.conf is rewritten at every start
#   run/            unix socket directory (omitted when the socket path would be too long)
#   postgres.log    server log
# Concurrent invocations on one state dir are serialised by the lock file .<name>.lock next to
# it (default <repo>/var/.pg.lock).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
PG_VAR=${PG_STATE_DIR:-$REPO_ROOT/var/pg}
[[ $PG_VAR == /* ]] || PG_VAR=$PWD/$PG_VAR
PG_VAR=${PG_VAR%/}
[[ -n $PG_VAR ]] || { echo "pg.sh: error: PG_STATE_DIR must not be /" >&2; exit 1; }
VAR_DIR=$(dirname -- "$PG_VAR")  # the state dir's parent (default <repo>/var)
DATA_DIR=$PG_VAR/data
RUN_DIR=$PG_VAR/run
PG_LOG=$PG_VAR/postgres.log
LOCK_FILE=$VAR_DIR/.$(basename -- "$PG_VAR").lock
KILL_TIMEOUT=10

PG_PORT=${PG_PORT:-15432}
PG_OS_USER=${PG_OS_USER:-portalpg}
DATABASES=(policy billing claims documents identity portal keystore)

# Client settings from the caller's environment must not redirect our admin connections.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS \
      PGPASSWORD PGPASSFILE PGSSLMODE PGDATA PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT

die() { echo "pg.sh: error: $*" >&2; exit 1; }
note() { echo "pg.sh: $*" >&2; }

ensure_var() {
  mkdir -p "$VAR_DIR"
}

LOCKED=""
lock() {
  [[ -z $LOCKED ]] || return 0
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "timed out waiting for the lock $LOCK_FILE"
  LOCKED=1
}

check_port_number() {
  if ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || (($2 > 65535)); then
    die "$1 must be a TCP port number, got '$2'"
  fi
}

need_root() {
  ((EUID == 0)) || die "must run as root (it manages the '$PG_OS_USER' system user and runs PostgreSQL as it)"
}

# ---------------------------------------------------------------- binaries

# Sets PG_BIN. Prefers the major version the existing cluster was created with.
find_pg_bin() {
  local want="" cand
  [[ -f $DATA_DIR/PG_VERSION ]] && want=$(<"$DATA_DIR/PG_VERSION")
  if [[ -n $want ]]; then
    cand=/usr/lib/postgresql/$want/bin
    if [[ -x $cand/initdb && -x $cand/pg_ctl ]]; then PG_BIN=$cand; return 0; fi
  fi
  PG_BIN=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sed 's|/initdb$||' | sort -t/ -k4,4n | tail -n1 || true)
  if [[ -z $PG_BIN ]]; then
    return 1
  fi
  if [[ -n $want && $want != "$(basename "$(dirname "$PG_BIN")")" ]]; then
    die "the cluster in $DATA_DIR was created by PostgreSQL $want, but only $PG_BIN is installed; install postgresql-$want or remove $PG_VAR to recreate the cluster"
  fi
}

install_postgres() {
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is unavailable; install PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin"
  need_root
  local log=$PG_VAR/install.log
  # We only want the binaries: stop the Debian package from creating and starting a system
  # cluster ("main" on port 5432).
  mkdir -p /etc/postgresql-common/createcluster.d
  [[ -f /etc/postgresql-common/createcluster.d/00-no-main-cluster.conf ]] ||
    printf '# added by %s: do not create a default cluster on package install\ncreate_main_cluster = false\n' \
      "$REPO_ROOT/deploy/postgres/pg.sh" >/etc/postgresql-common/createcluster.d/00-no-main-cluster.conf
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           -o Dpkg::Options::=--force-confold postgresql; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "installing PostgreSQL with apt-get failed (full output: $log)"
  fi
  find_pg_bin || die "apt-get install postgresql succeeded but no /usr/lib/postgresql/*/bin/initdb exists"
}

# ---------------------------------------------------------------- OS user and permissions

ensure_os_user() {
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "local PostgreSQL for $REPO_ROOT" "$PG_OS_USER" ||
      die "could not create system user '$PG_OS_USER'"
  fi
}

# Run a command as the cluster owner, from a directory it can access.
as_pg() { (cd "$PG_VAR" && runuser -u "$PG_OS_USER" -- "$@"); }

# The owner must be able to traverse every ancestor of var/pg (e.g. /root is 0700).
ensure_traversable() {
  local dir="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${VAR_DIR#/}"
  for part in "${parts[@]}"; do
    dir=$dir/$part
    if ! runuser -u "$PG_OS_USER" -- test -x "$dir" 2>/dev/null; then
      chmod o+x "$dir" || die "cannot make $dir traversable for '$PG_OS_USER'"
      note "added o+x to $dir so that '$PG_OS_USER' can reach $PG_VAR"
    fi
  done
}

ensure_pg_dirs() {
  mkdir -p "$PG_VAR" "$RUN_DIR"
  chown "$PG_OS_USER:" "$PG_VAR" "$RUN_DIR"
  chmod 0700 "$PG_VAR"
  chmod 0700 "$RUN_DIR"
  [[ ! -e $PG_LOG ]] || chown "$PG_OS_USER:" "$PG_LOG"
  if [[ -d $DATA_DIR && $(stat -c %U "$DATA_DIR") != "$PG_OS_USER" ]]; then
    die "$DATA_DIR is owned by $(stat -c %U "$DATA_DIR"), not '$PG_OS_USER' (PG_OS_USER changed?); fix ownership or remove $PG_VAR"
  fi
  runuser -u "$PG_OS_USER" -- test -w "$PG_VAR" || die "'$PG_OS_USER' cannot write to $PG_VAR"
}

# ---------------------------------------------------------------- cluster

init_cluster() {
  [[ -f $DATA_DIR/PG_VERSION ]] && return 0
  [[ ! -e $DATA_DIR ]] || die "$DATA_DIR exists but is not a PostgreSQL cluster; remove it to re-initialise"
  local tmp=$PG_VAR/data.init.$$ out=$PG_VAR/initdb.log
  rm -rf "$tmp"
  if ! as_pg "$PG_BIN/initdb" -D "$tmp" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=trust >"$out" 2>&1; then
    rm -rf "$tmp"
    cat "$out" >&2
    die "initdb failed (output: $out)"
  fi
  printf "\n# Local settings rendered by deploy/postgres/pg.sh at every start.\ninclude_if_exists = 'portal-local.conf'\n" \
    >>"$tmp/postgresql.conf"
  mv "$tmp" "$DATA_DIR"
}

render_local_conf() {
  local sockdir=$RUN_DIR
  # Unix socket paths are limited to 107 bytes; fall back to TCP only if ours would not fit.
  if (( ${#RUN_DIR} + ${#PG_PORT} + 10 > 100 )); then
    sockdir=""
  fi
  local conf=$DATA_DIR/portal-local.conf
  cat >"$conf.tmp" <<EOF
# Rendered by deploy/postgres/pg.sh; changes are overwritten at the next start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  chown "$PG_OS_USER:" "$conf.tmp"
  chmod 0600 "$conf.tmp"
  mv "$conf.tmp" "$conf"
}

# Exit status like pg_ctl status: 0 running, other = not running.
pg_running() {
  [[ -f $DATA_DIR/PG_VERSION && -n ${PG_BIN:-} ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

# Port of the running postmaster (line 4 of postmaster.pid).
running_port() { sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null; }

port_in_use() {
  if command -v ss >/dev/null 2>&1 && ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; then
    return 0
  fi
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

psql_admin() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres "${@:2}"
}

db_exists() {
  [[ $(psql_admin "$1" -Atc "SELECT 1 FROM pg_database WHERE datname = '${2//\'/\'\'}'") == 1 ]]
}

create_db() {
  local port=$1 name=$2 out
  db_exists "$port" "$name" && return 0
  if ! out=$("$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres -- "$name" 2>&1); then
    # A concurrent caller may have created it in the meantime.
    db_exists "$port" "$name" && return 0
    die "could not create database '$name': $out"
  fi
}

ensure_databases() {
  local port=$1 db
  for db in "${DATABASES[@]}"; do create_db "$port" "$db"; done
}

cmd_start() {
  check_port_number PG_PORT "$PG_PORT"
  need_root
  ensure_var
  lock
  mkdir -p "$PG_VAR"
  find_pg_bin || install_postgres
  ensure_os_user
  ensure_traversable
  ensure_pg_dirs

  local port
  if pg_running; then
    port=$(running_port)
    [[ $port =~ ^[0-9]+$ ]] || die "PostgreSQL is running but $DATA_DIR/postmaster.pid has no port"
    [[ $port == "$PG_PORT" ]] ||
      note "warning: PostgreSQL already running on port $port; PG_PORT=$PG_PORT ignored, stop it first to change"
  else
    port=$PG_PORT
    if port_in_use "$port"; then
      echo "pg.sh: error: port $port on 127.0.0.1 is already in use by another process; set PG_PORT to a free port" >&2
      command -v ss >/dev/null 2>&1 && ss -Hltnp "( sport = :$port )" 2>/dev/null | head -n 3 >&2
      exit 1
    fi
    init_cluster
    render_local_conf
    touch "$PG_LOG"
    chown "$PG_OS_USER:" "$PG_LOG"
    # setsid: the postmaster must not share our process group (a Ctrl-C aimed at the caller,
    # e.g. a test run, would otherwise shut it down).
    if ! (cd "$PG_VAR" && exec 9>&- && setsid -w runuser -u "$PG_OS_USER" -- \
          "$PG_BIN/pg_ctl" start -D "$DATA_DIR" -l "$PG_LOG" -w -t 90 -s) >"$PG_VAR/pg_ctl.out" 2>&1; then
      cat "$PG_VAR/pg_ctl.out" >&2
      tail -n 20 "$PG_LOG" >&2
      die "PostgreSQL did not start (see $PG_LOG)"
    fi
  fi
  ensure_databases "$port"
  echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$port/postgres"
}

cmd_stop() {
  ensure_var
  lock
  find_pg_bin || return 0
  pg_running || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 || die "system user '$PG_OS_USER' is missing"
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -t 60 -s 2>&1); then
    echo "$out" >&2
    die "pg_ctl stop failed (see $PG_LOG)"
  fi
}

# Prints the postmaster's pid if postmaster.pid names a live postmaster of this data dir.
postmaster_pid() {
  local pid
  pid=$(head -n1 "$DATA_DIR/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against pid reuse: the command line must be a postgres server on our data dir.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$DATA_DIR" || return 1
  echo "$pid"
}

# 0 if the process exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Pids of the direct children of $1 (the postmaster's backends and auxiliary processes).
child_pids() {
  local stat
  for stat in /proc/[0-9]*/stat; do
    # Fields after the command name (which may contain spaces): state ppid ...
    [[ $(sed -n 's/^.*) [A-Za-z] \([0-9]*\) .*/\1/p' "$stat" 2>/dev/null) == "$1" ]] || continue
    stat=${stat#/proc/}
    echo "${stat%/stat}"
  done
}

cmd_kill() {
  need_root
  ensure_var
  lock
  local pid children child
  pid=$(postmaster_pid) || return 0
  # Freeze the postmaster first so that it cannot fork a new backend between listing its
  # children and killing it; every child is killed too (orphaned backends would otherwise keep
  # the old shared memory attached and block the next start).
  kill -STOP "$pid" 2>/dev/null || true
  children=$(child_pids "$pid")
  kill -KILL "$pid" 2>/dev/null || true
  for child in $children; do kill -KILL "$child" 2>/dev/null || true; done
  local deadline=$((SECONDS + KILL_TIMEOUT))
  for child in "$pid" $children; do
    while alive "$child"; do
      ((SECONDS < deadline)) || die "process $child still alive ${KILL_TIMEOUT}s after SIGKILL"
      sleep 0.1
    done
  done
  # All dead (at most zombies). The next postmaster finds and recycles the old shared memory
  # segment by its key, which derives from the data directory, not from postmaster.pid.
  local file
  for file in "$DATA_DIR/postmaster.pid" "$RUN_DIR"/.s.PGSQL.*.lock; do
    [[ -f $file && $(head -n1 "$file" 2>/dev/null) == "$pid" ]] && rm -f "$file"
  done
  return 0
}

cmd_status() {
  if find_pg_bin && id -u "$PG_OS_USER" >/dev/null 2>&1 && pg_running; then
    echo "postgres: running (pid $(head -n1 "$DATA_DIR/postmaster.pid")) on 127.0.0.1:$(running_port)"
    return 0
  fi
  echo "postgres: not running"
  return 1
}

cmd_createdb() {
  local name=${1:-}
  [[ -n $name ]] || die "usage: pg.sh createdb NAME"
  [[ $name =~ ^[A-Za-z0-9_-]{1,63}$ ]] ||
    die "database name must be 1-63 characters from [A-Za-z0-9_-], got '$name'"
  find_pg_bin || die "PostgreSQL is not installed; run deploy/postgres/pg.sh start first"
  if ! { id -u "$PG_OS_USER" >/dev/null 2>&1 && pg_running; }; then
    die "PostgreSQL is not running; run deploy/postgres/pg.sh start first"
  fi
  local port
  port=$(running_port)
  create_db "$port" "$name"
  echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$port/$name"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  createdb) shift; cmd_createdb "$@" ;;
  *) usage ;;
esac
