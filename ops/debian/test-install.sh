#!/bin/sh
# The release check of the Debian package `ptl` (README, "Production"): builds it with
# `cargo deb`, installs it with `dpkg -i` on this machine, checks what the package promises (the
# system user, /var/lib/ptl 0700 owned by it, the keys in /etc/ptl/ptl.env 0600, the conffile, the
# unit under systemd-analyze verify), starts the unit's command line as the unit would (its
# ExecStart, EnvironmentFile, User, WorkingDirectory and UMask, read from the installed unit) until
# /readyz answers 200, runs an operator command through ptl-admin, stops the server with SIGTERM,
# and purges the package: the machine is left as it was (users, groups, /etc, /var/lib, the
# systemd symlinks), which the script checks too.
#
# It needs root, dpkg and curl; no systemd as PID 1 and no container: the sandbox options are
# checked by `systemd-analyze verify`/`security` (api/tests/deploy.rs), not enforced here.
#
#   ops/debian/test-install.sh              # cargo deb -p ptl-api (a release build), then the check
#   ops/debian/test-install.sh --deb FILE   # the check on a package already built
set -eu

die() { echo "test-install: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

cd "$(dirname "$0")/../.."
deb=""
case "${1:-}" in
    --deb) deb="${2:?--deb needs a file}" ;;
    "") ;;
    *) die "usage: $0 [--deb FILE]" ;;
esac

[ "$(id -u)" -eq 0 ] || die "run it as root (dpkg -i, a system user)"
for tool in dpkg dpkg-query curl setpriv getent; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
# Never on a machine where ptl is installed or its names are taken: the purge at the end would
# take them away.
if dpkg-query -W -f='${Status}' ptl 2>/dev/null | grep -q 'installed\|config-files'; then
    die "the package ptl is already on this machine"
fi
getent passwd ptl >/dev/null && die "a user ptl already exists"
getent group ptl >/dev/null && die "a group ptl already exists"
for p in /etc/ptl /var/lib/ptl; do
    [ -e "$p" ] && die "$p already exists"
done

work=$(mktemp -d)
snapshot() {
    getent passwd | sort
    getent group | sort
    find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
        /var/lib/systemd/deb-systemd-helper-masked 2>/dev/null | sort
    ls -d /etc/ptl /var/lib/ptl /usr/bin/ptl /usr/sbin/ptl-admin 2>/dev/null || true
}
snapshot > "$work/before"

pid=""
installed=""
cleanup() {
    rc=$?
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$installed" ]; then
        dpkg --purge ptl >/dev/null 2>&1 || true
    fi
    if [ "$rc" -ne 0 ] && [ -f "$work/server.log" ]; then
        echo "-- the server's log:" >&2
        tail -n 30 "$work/server.log" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT INT TERM

if [ -z "$deb" ]; then
    step "cargo deb -p ptl-api (a release build)"
    command -v cargo-deb >/dev/null || die "cargo-deb is not installed (cargo install cargo-deb)"
    cargo deb -p ptl-api > "$work/cargo-deb.log" 2>&1 || { tail -n 30 "$work/cargo-deb.log" >&2; die "cargo deb failed"; }
    deb=$(tail -n 1 "$work/cargo-deb.log")
fi
[ -f "$deb" ] || die "no package at $deb"
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Section\):/  \1:/p'
dpkg-deb --contents "$deb" | awk '{print "  " $1, $2, $6}' | grep -v '/$' || true

step "dpkg -i"
installed=yes
dpkg -i "$deb"

step "the user, the directories, the keys, the conffile, the unit"
entry=$(getent passwd ptl) || die "no user ptl"
uid=$(echo "$entry" | cut -d: -f3)
shell=$(echo "$entry" | cut -d: -f7)
home=$(echo "$entry" | cut -d: -f6)
[ "$uid" -lt 1000 ] || die "ptl is not a system user (uid $uid)"
[ "$shell" = /usr/sbin/nologin ] || die "ptl has a login shell ($shell)"
[ "$home" = /var/lib/ptl ] || die "ptl's home is $home"
echo "user: $entry"
check_stat() { # path expected-"mode owner:group"
    got=$(stat -c '%a %U:%G' "$1") || die "$1 is missing"
    [ "$got" = "$2" ] || die "$1 is $got, expected $2"
    echo "$1: $got"
}
check_stat /var/lib/ptl "700 ptl:ptl"
check_stat /etc/ptl "750 root:ptl"
check_stat /etc/ptl/ptl.toml "640 root:ptl"
check_stat /etc/ptl/ptl.env "600 root:root"
check_stat /usr/bin/ptl "755 root:root"
check_stat /usr/sbin/ptl-admin "755 root:root"
for k in PTL_MASTER_KEY PTL_HASH_KEY PTL_SEARCH_KEY PTL_JWT_SECRET; do
    grep -Eq "^$k=[0-9a-f]{64,128}\$" /etc/ptl/ptl.env || die "/etc/ptl/ptl.env lacks $k"
done
echo "/etc/ptl/ptl.env: the four keys"
dpkg-query -W -f='${Conffiles}\n' ptl | grep -q '^ /etc/ptl/ptl.toml ' || die "/etc/ptl/ptl.toml is not a conffile"
echo "conffiles:$(dpkg-query -W -f='${Conffiles}' ptl)"
unit=$(dpkg -L ptl | grep '/systemd/system/ptl\.service$') || die "no unit in the package"
echo "unit: $unit"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify --man=no "$unit" 2>&1) || die "systemd-analyze verify: $out"
    [ -z "$out" ] || die "systemd-analyze verify: $out"
    echo "systemd-analyze verify $unit: clean"
    systemd-analyze security --offline=true --no-pager "$unit" 2>/dev/null | tail -n 1
fi
ls /etc/systemd/system/multi-user.target.wants/ptl.service >/dev/null 2>&1 \
    && echo "enabled: /etc/systemd/system/multi-user.target.wants/ptl.service"
/usr/bin/ptl --version

step "the unit's command line as the unit runs it"
directive() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
exec_start=$(directive ExecStart)
env_file=$(directive EnvironmentFile)
user=$(directive User)
group=$(directive Group)
workdir=$(directive WorkingDirectory)
umask_=$(directive UMask)
echo "ExecStart=$exec_start"
echo "EnvironmentFile=$env_file User=$user Group=$group WorkingDirectory=$workdir UMask=$umask_"
# The configured 127.0.0.1:8080 may be taken on a shared machine: the port comes from the
# environment, as `systemctl edit ptl` (Environment=PTL_LISTEN=...) would give it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
(
    umask "$umask_"
    set -a
    . "$env_file"
    set +a
    cd "$workdir"
    # shellcheck disable=SC2086 # ExecStart's words, as systemd splits them (no quotes in it)
    exec env PTL_LISTEN="127.0.0.1:$port" \
        setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs -- $exec_start
) > "$work/server.log" 2>&1 &
pid=$!
ready=""
i=0
while [ $i -lt 120 ]; do
    kill -0 "$pid" 2>/dev/null || die "the server stopped before it was ready"
    code=$(curl -s -o "$work/readyz" -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
    if [ "$code" = 200 ]; then ready=yes; break; fi
    sleep 0.5
    i=$((i + 1))
done
[ -n "$ready" ] || die "/readyz did not answer 200 within 60 s (last: ${code:-none})"
echo "GET /readyz: 200 $(cat "$work/readyz")"
ps -o user=,pid=,args= -p "$pid" | sed 's/^/process: /'
[ "$(ps -o user= -p "$pid" | tr -d ' ')" = "$user" ] || die "the server does not run as $user"

step "an operator's command through ptl-admin, beside the running server"
echo 'a-long-enough-passphrase-4' | ptl-admin users add deploy-check --role admin --office UA \
    --name "Deploy check" --password-stdin
ptl-admin users list | grep -q deploy-check || die "ptl-admin users list does not show the account"
echo "ptl-admin users list: deploy-check is there"

step "the data directory after use"
ls -la /var/lib/ptl
others=$(find /var/lib/ptl ! -user ptl)
[ -z "$others" ] || die "files in /var/lib/ptl not owned by ptl: $others"
open=$(find /var/lib/ptl -mindepth 1 -perm /077)
[ -z "$open" ] || die "files in /var/lib/ptl readable by others: $open"
for f in master.key hash.key search.key jwt.secret; do
    [ ! -e "/var/lib/ptl/$f" ] || die "/var/lib/ptl/$f exists: the keys should come from $env_file"
done
echo "every file ptl's and private; no key file (the keys come from $env_file)"

step "SIGTERM"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || die "the server exited with $status after SIGTERM"
grep -q 'ptl stopped' "$work/server.log" || die "the server's log does not say it stopped"
echo "stopped cleanly (exit 0)"

step "dpkg --purge"
dpkg --purge ptl
installed=""
snapshot > "$work/after"
if ! diff -u "$work/before" "$work/after"; then
    die "the machine is not as it was (diff above)"
fi
echo "the machine is as it was: no user or group ptl, no /etc/ptl, /var/lib/ptl, unit or symlink"
echo "test-install: OK"
