#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   eval "$(scripts/pg-throwaway.sh start)"      # prints export lines on stdout
#   make test                                    # PG tests now run
#   scripts/pg-throwaway.sh stop "$PG_THROWAWAY_DIR"
#
#   scripts/pg-throwaway.sh start DIR   use DIR (must be empty or absent; folders above it the
#                                       server cannot enter get o+x) instead of a
#                                       fresh mktemp directory; lets a caller set its
#                                       cleanup trap before anything is started.
#   scripts/pg-throwaway.sh halt DIR    stop the server but keep DIR and its databases
#   scripts/pg-throwaway.sh resume DIR  start a halted DIR again (a new free port; prints
#                                       the same export lines as start)
#
# The cluster listens on 127.0.0.1 on a free port only (unix socket inside DIR), trusts
# every local connection, runs with fsync off, and has an empty `deskconsole_test`
# database.  Exported:
#   PG_THROWAWAY_DIR         the directory to pass to `stop`
#   DESKCONSOLE_TEST_PG_URL  postgresql+psycopg://postgres@127.0.0.1:PORT/deskconsole_test
# `stop DIR` stops the server (immediate mode) and deletes DIR; it is safe to call
# twice, on a half-started DIR, or on a DIR that was never started.
#
# Run as root, the server runs as the `postgres` system user (created if missing);
# run as anyone else, it runs as you.  Diagnostics go to stderr, never stdout.
set -euo pipefail

MARKER=.pg-throwaway
DBNAME=deskconsole_test

log() { printf 'pg-throwaway: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pg_bindir() {
    local d
    # Newest installed major version first (Debian layout), then whatever is on PATH.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
        [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
    done
    d=$(command -v initdb 2>/dev/null) && { dirname "$d"; return; }
    die "no PostgreSQL server binaries (initdb) found; install the 'postgresql' package"
}

# Run a command as the owner of cluster directory $DIR, with a cwd that user can read.
# (root cannot run the server; as root, act as whoever owns the directory.)
as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u "$(stat -c %U -- "$DIR")" -- "$@")
    else
        (cd / && "$@")
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd_stop() {
    local dir=${1:?usage: pg-throwaway.sh stop DIR}
    [[ -e $dir ]] || return 0
    DIR=$dir
    # An empty directory (start never got going) just goes away.
    rmdir -- "$dir" 2>/dev/null && return 0
    # Only ever delete a directory this script made (guards against `stop /` etc.).
    [[ -f $dir/$MARKER ]] || die "refusing to touch $dir: no $MARKER marker in it"
    if [[ -f $dir/data/postmaster.pid ]]; then
        local bin
        bin=$(pg_bindir)
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 \
            || log "pg_ctl stop failed (server already gone?)"
    fi
    rm -rf -- "$dir"
}

cmd_start() {
    local dir=${1:-} bin port url attempt started=0
    bin=$(pg_bindir)
    if [[ -z $dir ]]; then
        # /tmp, not $TMPDIR: short unix-socket path, traversable by the postgres user.
        dir=$(mktemp -d /tmp/pg-throwaway.XXXXXX)
    else
        mkdir -p -- "$dir"
        [[ -z $(ls -A -- "$dir") ]] || die "$dir is not empty"
    fi
    dir=$(cd -- "$dir" && pwd -P)
    DIR=$dir
    touch "$dir/$MARKER"
    # Anything going wrong from here on leaves nothing behind.
    trap 'rc=$?; if (( rc != 0 )); then cmd_stop "'"$dir"'" || true; fi' EXIT

    if [[ $EUID -eq 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            log "creating system user postgres"
            useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
        fi
        chown postgres: "$dir" "$dir/$MARKER"
        # The server runs as postgres and must reach DIR: a folder above it that postgres cannot
        # enter (a 0700 `mktemp -d` of root's, say) gets search permission for others (x only:
        # its listing stays private).
        local up=$dir
        while [[ $up != / ]]; do
            up=$(dirname -- "$up")
            if ! runuser -u postgres -- test -x "$up" 2>/dev/null; then
                log "letting the postgres user through $up (chmod o+x)"
                chmod o+x -- "$up"
            fi
        done
    fi
    chmod 700 "$dir"

    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    # The free port can be taken between probing and binding; retry a few times.
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            started=1
            break
        fi
        log "start on port $port failed (attempt $attempt)"
    done
    (( started )) || { tail -n 30 "$dir/server.log" >&2 || true; die "could not start PostgreSQL"; }

    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DBNAME"

    url="postgresql+psycopg://postgres@127.0.0.1:$port/$DBNAME"
    log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') up on 127.0.0.1:$port, dir $dir"
    printf 'export PG_THROWAWAY_DIR=%q\n' "$dir"
    printf 'export DESKCONSOLE_TEST_PG_URL=%q\n' "$url"
}

# The server of a DIR this script made: stop it, keeping its files (`resume` starts it again).
cmd_halt() {
    local dir=${1:?usage: pg-throwaway.sh halt DIR}
    [[ -f $dir/$MARKER ]] || die "refusing to touch $dir: no $MARKER marker in it"
    DIR=$(cd -- "$dir" && pwd -P)
    [[ -f $DIR/data/postmaster.pid ]] || return 0
    as_owner "$(pg_bindir)/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 \
        || log "pg_ctl stop failed (server already gone?)"
}

cmd_resume() {
    local dir=${1:?usage: pg-throwaway.sh resume DIR} bin port attempt started=0
    [[ -f $dir/$MARKER && -d $dir/data ]] || die "$dir is no cluster made by pg-throwaway.sh start"
    DIR=$(cd -- "$dir" && pwd -P)
    bin=$(pg_bindir)
    if [[ -f $DIR/data/postmaster.pid ]]; then
        cmd_halt "$DIR"  # (left running by an earlier run: its port is unknown here)
    fi
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            started=1
            break
        fi
        log "start on port $port failed (attempt $attempt)"
    done
    (( started )) || { tail -n 30 "$DIR/server.log" >&2 || true; die "could not start PostgreSQL"; }
    log "PostgreSQL up again on 127.0.0.1:$port, dir $DIR"
    printf 'export PG_THROWAWAY_DIR=%q\n' "$DIR"
    printf 'export DESKCONSOLE_TEST_PG_URL=%q\n' "postgresql+psycopg://postgres@127.0.0.1:$port/$DBNAME"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop)  shift; cmd_stop "$@" ;;
    halt)  shift; cmd_halt "$@" ;;
    resume) shift; cmd_resume "$@" ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
