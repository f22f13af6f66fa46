#!/bin/sh
# deb-installed.sh REDIS-PORT API-PORT MGMT-PORT RESULTS-DIR: the checks of
# scripts/check-deb, run inside a fresh Debian 12 chroot just after
# `apt-get install ./tokend_*.deb`. Writes one "ok ..." or "FAIL ..." line
# per check, then "done", to RESULTS-DIR/log, and always exits 0 (the
# caller counts the lines). Starts its own redis-server and tokend on the
# given loopback ports and stops both before it returns.
set -u

p_redis=$1
p_api=$2
p_mgmt=$3
out=$4
mkdir -p "$out"
log=$out/log
: >"$log"
ok() { echo "ok    $*" >>"$log"; }
bad() { echo "FAIL  $*" >>"$log"; }
check() { # WHAT COMMAND...: ok if COMMAND succeeds
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

tmp=$(mktemp -d)
redis_pid=
tokend_pid=
cleanup() {
	[ -n "$tokend_pid" ] && kill "$tokend_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
	[ -n "$tokend_pid" ] && wait "$tokend_pid" 2>/dev/null
	[ -n "$redis_pid" ] && wait "$redis_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- what the package installed ----------------------------------------------

check "package tokend installed" \
    sh -c 'dpkg-query -W -f="\${Status}" tokend | grep -qx "install ok installed"'
check "/usr/sbin/tokend is executable" test -x /usr/sbin/tokend
check "/usr/bin/tokend-client is executable" test -x /usr/bin/tokend-client
check "tokend(8) in /usr/share/man/man8" \
    sh -c 'zcat /usr/share/man/man8/tokend.8.gz | grep -q "^\.TH TOKEND 8"'
check "tokend-client(1) in /usr/share/man/man1" \
    sh -c 'zcat /usr/share/man/man1/tokend-client.1.gz | grep -q "^\.TH TOKEND\\\\-CLIENT 1"'
unit=/lib/systemd/system/tokend.service
check "the unit in /lib/systemd/system runs /usr/sbin/tokend" \
    grep -qx 'ExecStart=/usr/sbin/tokend' "$unit"
check "the unit reads /etc/default/tokend" \
    grep -qx 'EnvironmentFile=-/etc/default/tokend' "$unit"
check "/etc/default/tokend is a conffile, every setting commented" \
    sh -c 'dpkg-query -W -f="\${Conffiles}" tokend | grep -q " /etc/default/tokend " &&
        ! grep -v -e "^#" -e "^\$" /etc/default/tokend'
check "the service is not enabled" \
    sh -c '! ls /etc/systemd/system/*.wants/tokend.service'
check "removal stops the service (prerm), upgrades restart it (postinst)" \
    sh -c 'grep -q "deb-systemd-invoke stop .tokend.service." /var/lib/dpkg/info/tokend.prerm &&
        grep -q "_dh_action=restart" /var/lib/dpkg/info/tokend.postinst &&
        grep -q "deb-systemd-invoke \$_dh_action .tokend.service." /var/lib/dpkg/info/tokend.postinst'
uid=$(getent passwd tokend | cut -d: -f3)
check "system user tokend (uid $uid < 1000, shell nologin, group tokend)" \
    sh -c '[ "$(getent passwd tokend | cut -d: -f3)" -lt 1000 ] &&
        getent passwd tokend | grep -q ":/usr/sbin/nologin\$" &&
        getent group tokend'
check "the Recommends are installed (redis-server, redis-cli, openssl)" \
    sh -c 'command -v redis-server && command -v redis-cli && command -v openssl'

# --- the installed binary -----------------------------------------------------

version=$(tokend --version 2>&1)
case $version in
"tokend "[0-9]*) ok "tokend --version: $version" ;;
*) bad "tokend --version: $version" ;;
esac
check "tokend --help names its settings" \
    sh -c 'tokend --help | grep -q "TOKEND_REDIS"'
check "tokend-client --help" \
    sh -c 'tokend-client --help | grep -q "^usage: tokend-client"'

# --- a token round trip -------------------------------------------------------

redis-server --bind 127.0.0.1 --port "$p_redis" --save '' --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
i=0
until redis-cli -p "$p_redis" ping 2>/dev/null | grep -q PONG; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || break
	sleep 0.1
done
check "redis-server answers on 127.0.0.1:$p_redis" \
    sh -c "redis-cli -p $p_redis ping | grep -q PONG"

# The keys in place as the unit wants them, root-only; tokend reads them
# as root, then switches to the system user.
install -d -m 700 /etc/tokend
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out /etc/tokend/signing-key.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout /etc/tokend/server.key -out /etc/tokend/server.pem 2>/dev/null
chmod 600 /etc/tokend/*

iss=https://localhost:$p_api
tokend --user tokend --workers 1 --listen "127.0.0.1:$p_api" \
    --management-listen "127.0.0.1:$p_mgmt" \
    --redis "redis://127.0.0.1:$p_redis" --issuer "$iss" \
    --signing-key /etc/tokend/signing-key.pem \
    --tls-cert /etc/tokend/server.pem --tls-key /etc/tokend/server.key \
    >"$tmp/tokend.log" 2>&1 &
tokend_pid=$!
i=0
until curl -fsS "http://127.0.0.1:$p_mgmt/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || break
	kill -0 "$tokend_pid" 2>/dev/null || break
	sleep 0.1
done
if curl -fsS "http://127.0.0.1:$p_mgmt/readyz" >/dev/null 2>&1; then
	ok "tokend ready (/readyz 200 on the management listener)"
else
	bad "tokend not ready; its log:"
	sed 's/^/      /' "$tmp/tokend.log" >>"$log"
fi
check "tokend runs as the system user tokend after --user" \
    sh -c "awk '/^Uid:/ { exit !(\$2 == $uid && \$3 == $uid) }' /proc/$tokend_pid/status"

api() { # curl options for the API port, its certificate trusted
	curl -sS --cacert /etc/tokend/server.pem \
	    --resolve "localhost:$p_api:127.0.0.1" "$@"
}
secret=$(TOKEND_REDIS=redis://127.0.0.1:$p_redis tokend-client add demo \
    --scopes "read write" 2>"$tmp/client.err")
if [ -n "$secret" ]; then
	ok "tokend-client add demo"
else
	bad "tokend-client add demo: $(cat "$tmp/client.err")"
fi
# The secret reaches curl on stdin (a config line), not in its arguments.
printf 'user = "demo:%s"\n' "$secret" |
    api -K - -d grant_type=client_credentials -d scope=read \
    "$iss/oauth/token" >"$tmp/token.json" 2>&1
token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' "$tmp/token.json")
if [ -n "$token" ]; then
	ok "POST /oauth/token: a token for demo"
else
	bad "POST /oauth/token: $(head -c 300 "$tmp/token.json")"
fi
printf 'header = "Authorization: Bearer %s"\n' "$token" |
    api -K - -o "$tmp/verify.json" -w '%{http_code}' "$iss/verify" \
    >"$tmp/verify.code" 2>&1
if [ "$(cat "$tmp/verify.code")" = 200 ] &&
    grep -q '"valid":true' "$tmp/verify.json" &&
    grep -q '"client_id":"demo"' "$tmp/verify.json"; then
	ok "POST /verify: 200, valid, client_id demo"
else
	bad "POST /verify: $(cat "$tmp/verify.code") $(head -c 300 "$tmp/verify.json")"
fi
TOKEND_REDIS=redis://127.0.0.1:$p_redis tokend-client disable demo \
    >/dev/null 2>"$tmp/client.err" || bad "tokend-client disable demo: $(cat "$tmp/client.err")"
i=0
code=
while [ "$i" -lt 30 ]; do
	code=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
	    api -K - -o /dev/null -w '%{http_code}' "$iss/verify" 2>/dev/null)
	[ "$code" = 401 ] && break
	i=$((i + 1))
	sleep 0.1
done
if [ "$code" = 401 ]; then
	ok "after tokend-client disable demo: /verify 401"
else
	bad "after tokend-client disable demo: /verify $code, not 401"
fi
if [ -z "$secret" ] || [ -z "$token" ]; then
	bad "no secret or token to look for in tokend's log"
elif grep -q -F -e "$secret" -e "$token" "$tmp/tokend.log"; then
	bad "tokend's log holds the secret or the whole token"
else
	ok "tokend's log holds neither the secret nor the token"
fi
kill "$tokend_pid" 2>/dev/null
wait "$tokend_pid"
rc=$?
tokend_pid=
if [ "$rc" -eq 0 ]; then ok "tokend stops on SIGTERM, status 0"; else bad "tokend stops on SIGTERM, status $rc"; fi

# --- purge --------------------------------------------------------------------

rm -rf /etc/tokend
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q tokend >"$tmp/purge.log" 2>&1; then
	ok "apt-get purge tokend"
else
	bad "apt-get purge tokend: $(tail -n 3 "$tmp/purge.log")"
fi
check "purge deleted the system user and group tokend" \
    sh -c '! getent passwd tokend && ! getent group tokend'

# A system user tokend the package did not make (the machine had it
# before): install and purge leave it, and its group, alone.
adduser --system --group --quiet --no-create-home --home /var/lib/other \
    --gecos "another tokend" tokend
if dpkg -i /tmp/tokend_*.deb >"$tmp/reinstall.log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q tokend \
    >>"$tmp/reinstall.log" 2>&1; then
	check "purge left the machine's own user and group tokend" \
	    sh -c 'getent passwd tokend | grep -q ":another tokend[^:]*:/var/lib/other:" &&
	        getent group tokend'
else
	bad "reinstall and purge with a user tokend already there: $(tail -n 3 "$tmp/reinstall.log")"
fi
deluser --system --quiet tokend >/dev/null 2>&1 || true
delgroup --system --quiet tokend >/dev/null 2>&1 || true

check "purge deleted /etc/default/tokend and the binaries" \
    sh -c '! test -e /etc/default/tokend && ! test -e /usr/sbin/tokend &&
        ! test -e /usr/bin/tokend-client && ! test -e /lib/systemd/system/tokend.service'

echo done >>"$log"
exit 0
