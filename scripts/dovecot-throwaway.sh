#!/usr/bin/env bash
# Throwaway Dovecot IMAP server for the mail tests (Debian's dovecot-imapd).
#
#   eval "$(scripts/dovecot-throwaway.sh start)"     # prints export lines on stdout
#   make test                                       # the IMAP tests now run
#   scripts/dovecot-throwaway.sh stop "$DOVECOT_THROWAWAY_DIR"
#
#   scripts/dovecot-throwaway.sh start DIR   use DIR (empty or absent) instead of a fresh
#                                            mktemp directory
#
# Dovecot runs from a config file inside DIR (no system service, nothing under /etc touched):
# listening on 127.0.0.1 on a free port only, `ssl = no`, plain-text logins allowed (loopback),
# users in a passwd-file, mail stored as the `dovenull` user in DIR/home/USER/Maildir. It must be
# started as root (it drops to dovenull for the mail). One user, `desk`, password `desk-secret`.
# Exported:
#   DOVECOT_THROWAWAY_DIR        the directory to pass to `stop`
#   DESKCONSOLE_TEST_IMAP_URL    imap://desk@127.0.0.1:PORT/INBOX
#   DESKCONSOLE_TEST_IMAP_PASSWORD
# `stop DIR` stops the server and deletes DIR; safe to call twice or on a half-started DIR.
# Diagnostics go to stderr, never stdout.
set -euo pipefail

MARKER=.dovecot-throwaway
USER_NAME=desk
PASSWORD=desk-secret

log() { printf 'dovecot-throwaway: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd_stop() {
    local dir=${1:?usage: dovecot-throwaway.sh stop DIR}
    [[ -e $dir ]] || return 0
    rmdir -- "$dir" 2>/dev/null && return 0
    [[ -f $dir/$MARKER ]] || die "refusing to touch $dir: no $MARKER marker in it"
    if [[ -f $dir/dovecot.conf && -f $dir/run/master.pid ]]; then
        /usr/sbin/dovecot -c "$dir/dovecot.conf" stop >/dev/null 2>&1 || log "dovecot stop failed (already gone?)"
        # wait for the master to go (it removes its pid file)
        for _ in $(seq 1 50); do [[ -f $dir/run/master.pid ]] || break; sleep 0.1; done
    fi
    rm -rf -- "$dir"
}

write_config() {
    local dir=$1 port=$2
    cat >"$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
mail_privileged_group =
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=dovenull gid=dovenull home=$dir/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
EOF
}

cmd_start() {
    local dir=${1:-} port attempt started=0
    [[ $EUID -eq 0 ]] || die "run as root (dovecot drops to the dovenull user for the mail)"
    [[ -x /usr/sbin/dovecot ]] || die "no /usr/sbin/dovecot: apt-get install -y dovecot-imapd"
    id dovenull >/dev/null 2>&1 || die "no dovenull user (installed with dovecot-core)"
    if [[ -z $dir ]]; then
        dir=$(mktemp -d /tmp/dovecot-throwaway.XXXXXX)
    else
        mkdir -p -- "$dir"
        [[ -z $(ls -A -- "$dir") ]] || die "$dir is not empty"
    fi
    dir=$(cd -- "$dir" && pwd -P)
    touch "$dir/$MARKER"
    trap 'rc=$?; if (( rc != 0 )); then cmd_stop "'"$dir"'" || true; fi' EXIT
    chmod 755 "$dir"
    mkdir -p "$dir/run" "$dir/state" "$dir/home/$USER_NAME"
    chown -R dovenull:dovenull "$dir/home"
    printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$dir/passwd"
    chmod 644 "$dir/passwd"
    for attempt in 1 2 3; do
        port=$(free_port)
        write_config "$dir" "$port"
        if /usr/sbin/dovecot -c "$dir/dovecot.conf" 2>"$dir/start.err"; then
            for _ in $(seq 1 50); do
                if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; then
                    started=1; break
                fi
                sleep 0.1
            done
            (( started )) && break
            /usr/sbin/dovecot -c "$dir/dovecot.conf" stop >/dev/null 2>&1 || true
        fi
        log "start on port $port failed (attempt $attempt): $(cat "$dir/start.err" 2>/dev/null)"
    done
    (( started )) || { tail -n 30 "$dir/dovecot.log" >&2 2>/dev/null || true; die "could not start dovecot"; }
    log "dovecot $(/usr/sbin/dovecot --version | awk '{print $1}') up on 127.0.0.1:$port, dir $dir"
    printf 'export DOVECOT_THROWAWAY_DIR=%q\n' "$dir"
    printf 'export DESKCONSOLE_TEST_IMAP_URL=%q\n' "imap://$USER_NAME@127.0.0.1:$port/INBOX"
    printf 'export DESKCONSOLE_TEST_IMAP_PASSWORD=%q\n' "$PASSWORD"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop)  shift; cmd_stop "$@" ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
