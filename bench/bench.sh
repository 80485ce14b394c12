#!/bin/bash
# bench.sh: switchboard and Kamailio side by side (issue 6), in one run on
# this machine, the same SIPp workloads through each proxy on loopback:
#   1. calls: a registered SIPp callee, a SIPp caller doing
#      INVITE/100/180/200/ACK/BYE/200 through the proxy (bench/call_uac.xml,
#      tests/flows/scenarios/uas.xml), CALLS calls at each rate of
#      CALL_RATES, a fresh proxy for every run, the proxies taking turns;
#      a proxy's higher rates are skipped after its first failing rate;
#      a third "proxy", the floor relay (bench/floor_relay.c: no SIP,
#      recvmmsg and one sendto per datagram), runs the same calls, so the
#      kernel's own cost per call is measured in the same run;
#   2. registrations with digest authentication (REGISTER, 401, REGISTER,
#      200; bench/register_auth.xml) of USERS distinct users, REGS at each
#      rate of REG_RATES; and, for context, a third series "kamailio-durable":
#      Kamailio with usrloc written through to SQLite on every REGISTER
#      (db_mode 1) and its subscriber table in the same SQLite file
#      (bench/kamailio.cfg -A WITH_DURABLE, db_sqlite), as switchboard
#      commits every binding before its 200;
#   3. switchboard only: memory per binding with BINDINGS bindings
#      (bench_location), per INVITE transaction in flight (bench_core
#      --tsx-memory) and the core path's calls/s (bench_core), when built;
#   and before the calls, each proxy's CPU while idle for IDLE seconds; and
#   one call rate and one registration rate held for SUSTAIN seconds.
# It writes bench/RESULTS.md and bench/cpu_per_call.png (bench/plot.gp).
#
#   bench/bench.sh            the whole run (make bench builds and calls it)
#   bench/bench.sh --smoke    a few calls and registrations through each
#                             proxy, no files written, ~15 s; exits 77 when
#                             sipp or kamailio is missing, 1 on a failure
#   --out DIR                 RESULTS.md and the chart in DIR (default bench/)
#   --sb PATH --sbctl PATH    the binaries (default build/switchboard, build/sbctl)
#   --floor PATH              the floor relay (default BENCH_BUILD/bench/floor_relay,
#                             else bench/floor_relay in SB's build)
#   --bench-build DIR         where bench_location/bench_core are (build-bench)
#   environment: CALL_RATES ("100 200 400 800 1200 1600 2400 3200 4800
#   6400 9600"), CALLS (4000), REG_RATES ("500 1000 2000 4000 6000 8000
#   12000 16000"), REGS (5000),
#   USERS (2000), BINDINGS (1000000), IDLE (10), SUSTAIN (35 s; 0: none),
#   SUSTAIN_CALL_RATE (800), SUSTAIN_REG_RATE (2000), KAMAILIO (kamailio),
#   SB, SBCTL, FLOOR, BENCH_BUILD, OUT; FLOOR_ARGS (none; e.g. "--trying"
#   or "--rx msg", see bench/floor_relay.c); KEEP=1 keeps the temporary
#   directory
#
# A run passes when every call completed, none failed, and the caller kept
# the rate (its last call started at most 10% + 0.1 s late); it is clean
# when, besides, SIPp retransmitted nothing.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
SB=${SB:-$here/build/switchboard}
SBCTL=${SBCTL:-$here/build/sbctl}
BENCH_BUILD=${BENCH_BUILD:-$here/build-bench}
KAMAILIO=${KAMAILIO:-kamailio}
FLOOR=${FLOOR:-}
FLOOR_ARGS=${FLOOR_ARGS:-}
OUT=${OUT:-$here/bench}
smoke=0
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1; shift ;;
	--out) OUT=$2; shift 2 ;;
	--sb) SB=$2; shift 2 ;;
	--sbctl) SBCTL=$2; shift 2 ;;
	--floor) FLOOR=$2; shift 2 ;;
	--bench-build) BENCH_BUILD=$2; shift 2 ;;
	-h|--help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ "$smoke" = 1 ]; then
	CALL_RATES=${SMOKE_CALL_RATES:-50} CALLS=${SMOKE_CALLS:-40}
	REG_RATES=${SMOKE_REG_RATES:-50} REGS=${SMOKE_REGS:-20} USERS=${SMOKE_USERS:-10}
else
	CALL_RATES=${CALL_RATES:-100 200 400 800 1200 1600 2400 3200 4800 6400 9600}
	CALLS=${CALLS:-4000}
	REG_RATES=${REG_RATES:-500 1000 2000 4000 6000 8000 12000 16000}
	REGS=${REGS:-5000}
	USERS=${USERS:-2000}
fi
BINDINGS=${BINDINGS:-1000000}
if [ "$smoke" = 1 ]; then IDLE=0; else IDLE=${IDLE:-10}; fi
if [ "$smoke" = 1 ]; then SUSTAIN=0; else SUSTAIN=${SUSTAIN:-35}; fi
SUSTAIN_CALL_RATE=${SUSTAIN_CALL_RATE:-800}
SUSTAIN_REG_RATE=${SUSTAIN_REG_RATE:-2000}
KCFG=$here/bench/kamailio.cfg
SCEN=$here/tests/flows/scenarios
UAC=$here/bench/call_uac.xml
REGXML=$here/bench/register_auth.xml
REALM=127.0.0.1

# what is missing: a skip (77) for the smoke test, an error for the bench
missing() {
	echo "bench: $1" >&2
	[ "$smoke" = 1 ] && exit 77
	exit 2
}
command -v sipp >/dev/null || missing "no sipp (apt-get install sip-tester)"
command -v "$KAMAILIO" >/dev/null || missing "no kamailio (apt-get install kamailio)"
if [ -z "$FLOOR" ]; then
	FLOOR=$BENCH_BUILD/bench/floor_relay
	[ -x "$FLOOR" ] || FLOOR=$(dirname "$SB")/bench/floor_relay
fi
for x in "$SB" "$SBCTL" "$FLOOR"; do
	[ -x "$x" ] || { echo "bench: no $x (make first)" >&2; exit 2; }
done
for m in kex corex tm sl rr pv maxfwd usrloc registrar textops siputils xlog sanity db_text auth auth_db; do
	[ -e "/usr/lib/x86_64-linux-gnu/kamailio/modules/$m.so" ] ||
		[ "$(uname -m)" != x86_64 ] || missing "no Kamailio module $m.so"
done
# the durable series needs db_sqlite and Debian's SQLite schemas: required
# for the bench; the smoke test leaves the series out without them
KSQL=${KSQL:-/usr/share/kamailio/db_sqlite}
durable=1
if { [ "$(uname -m)" = x86_64 ] && [ ! -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ]; } ||
	[ ! -r "$KSQL/usrloc-create.sql" ]; then
	[ "$smoke" = 1 ] || missing "no db_sqlite or its schemas (apt-get install kamailio-sqlite-modules)"
	echo "bench: no db_sqlite or its schemas (kamailio-sqlite-modules): no durable Kamailio series" >&2
	durable=0
fi

work=$(mktemp -d /tmp/sb-bench.XXXXXX)
pids=()         # SIPp callees started in the background, killed at exit
proxy_pid=      # the main process of the proxy under test
cleanup() {
	stop_proxy
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$@" >&2; }

. "$here/bench/proctree.sh"

# the machine's CPU counters (all CPUs, ticks): busy total steal
machine_cpu() {
	awk '/^cpu /{ busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9, $9; exit }' /proc/stat
}

stop_proxy() {
	[ -n "$proxy_pid" ] || return 0
	local kids p
	kids=$(tree_pids "$proxy_pid")
	kill "$proxy_pid" 2>/dev/null
	for _ in $(seq 25); do
		kill -0 "$proxy_pid" 2>/dev/null || break
		sleep 0.2
	done
	for p in $kids; do kill -9 "$p" 2>/dev/null; done
	wait "$proxy_pid" 2>/dev/null
	proxy_pid=
}

# N free ports on loopback (UDP and TCP both free)
free_ports() {
	python3 -c '
import socket, sys
ss = []
while len(ss) < int(sys.argv[1]):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try: t.bind(("127.0.0.1", u.getsockname()[1]))
    except OSError: continue
    ss += [(u, t)]
print(*[u.getsockname()[1] for u, t in ss])' "$1"
}

# datagrams dropped by the kernel (receive buffer full) on the UDP sockets
# bound to 127.0.0.1 at the ports given (/proc/net/udp, last field)
udp_drops() {
	local hex p
	hex=$(for p in "$@"; do printf '0100007F:%04X ' "$p"; done)
	awk -v want="$hex" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
		NR > 1 && ($2 in ok) { d += $NF } END { print d + 0 }' /proc/net/udp
}

# wait up to 10 s for something to listen on UDP 127.0.0.1:$1
wait_udp() {
	local hex
	hex=$(printf '0100007F:%04X' "$1")
	for _ in $(seq 50); do
		grep -q " $hex " /proc/net/udp && return 0
		kill -0 "$proxy_pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# the commands as run, for RESULTS.md (the first time each kind runs)
declare -A cmd_seen=()
note_cmd() {
	local kind=$1; shift
	[ -n "${cmd_seen[$kind]:-}" ] && return 0
	cmd_seen[$kind]=1
	local a out=
	for a in "$@"; do
		a=${a//$work//tmp/sb-bench.XXXXXX}
		a=${a//$here\//}
		if [[ $a =~ [^A-Za-z0-9_./:=,@%+-] ]]; then a="'${a//\'/\'\\\'\'}'"; fi
		out+="${out:+ }$a"
	done
	echo "$out" >>"$work/commands.txt"
}

# start_proxy NAME MODE PORT [CALLEE_PORT]: MODE calls (no authentication)
# or regs (digest authentication of REGISTER; the users must exist:
# switchboard's are added after the start through its API, Kamailio's table
# is written before).  The floor relay (calls only) is given the callee's
# port instead of a registration.  Sets proxy_pid, and api_port for
# switchboard's regs mode.
start_proxy() {
	local name=$1 mode=$2 port=$3 callee_port=${4:-} log=$work/$1-$2-$3.log cmd
	proxy_log=$log
	case $name/$mode in
	switchboard/calls)
		cmd=("$SB" --listen "udp:127.0.0.1:$port" --domain 127.0.0.1 --log-level warn
			--auth-methods none --api none --store "$work/sb-calls-$port.db") ;;
	switchboard/regs)
		api_port=$(free_ports 1)
		cmd=("$SB" --listen "udp:127.0.0.1:$port" --domain 127.0.0.1 --realm "$REALM"
			--log-level warn --store "$work/sb-regs.db" --api "127.0.0.1:$api_port"
			--api-token-file "$work/token" --auth-methods REGISTER --auth-algorithms MD5) ;;
	kamailio/*)
		# -DD: the main process stays our child and forks its workers;
		# -x/-X fm: the fast allocator for shared and private memory;
		# -n 1: one UDP worker (switchboard is one thread); -m 1024: a
		# shared pool large enough for every transaction in flight or in
		# tm's 5 s wait at 3200 calls/s (64 MB fails from 400 calls/s)
		mkdir -p "$work/kamailio-run"
		cmd=("$KAMAILIO" -f "$KCFG" -DD -E -x fm -X fm -m 1024 -M 16 -n 1
			-l "udp:127.0.0.1:$port" -w "$work/kamailio-run" -Y "$work/kamailio-run")
		[ "$mode" = regs ] && cmd+=(-A WITH_AUTH -A "DBURL=\"text://$work/kamdb\"") ;;
	kamailio-durable/regs)
		# as kamailio/regs, with usrloc written through to SQLite
		# (db_mode 1) and the subscribers read from the same file
		mkdir -p "$work/kamailio-run"
		cmd=("$KAMAILIO" -f "$KCFG" -DD -E -x fm -X fm -m 1024 -M 16 -n 1
			-l "udp:127.0.0.1:$port" -w "$work/kamailio-run" -Y "$work/kamailio-run"
			-A WITH_AUTH -A WITH_DURABLE -A "DBURL=\"sqlite:///$work/kam.sqlite\"") ;;
	floor/calls)
		# shellcheck disable=SC2206 # FLOOR_ARGS: options, split on spaces
		cmd=("$FLOOR" --listen "127.0.0.1:$port" --callee "127.0.0.1:$callee_port" $FLOOR_ARGS) ;;
	esac
	note_cmd "$name-$mode" "${cmd[@]}"
	"${cmd[@]}" >"$log" 2>&1 &
	proxy_pid=$!
	if ! wait_udp "$port"; then
		log "bench: $name did not start:"; cat "$log" >&2; exit 2
	fi
	sleep 0.3   # Kamailio: let the workers finish their start-up
}

# ok failed retransmissions, from the last line of a SIPp statistics file
sipp_counts() {
	awk -F';' 'NR==1{for(i=1;i<=NF;i++){if($i=="SuccessfulCall(C)")s=i;if($i=="FailedCall(C)")f=i;if($i=="Retransmissions(C)")r=i}}
		END{print $s+0, $f+0, $r+0}' "$1" 2>/dev/null || echo "0 0 0"
}

# median, 99th percentile, mean and count of SIPp's response times 1 (ms),
# and when the last call started (s after SIPp's start: the time a response
# time was taken less the response time; a caller on rate starts its last
# call at (N - 1) / RATE)
rtt_stats() {
	local f
	f=$(ls "$1"/*_rtt.csv 2>/dev/null | head -1)
	[ -n "$f" ] || { echo "- - - 0 -"; return; }
	awk -F';' 'NR>1 && $3==1 {print $2, $1 - $2}' "$f" | sort -n | awk '
		{ v[NR] = $1; s += $1; if ($2 > last) last = $2 }
		END { if (NR == 0) { print "- - - 0 -"; exit }
			i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
			if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
			printf "%s %s %.2f %d %.2f\n", v[i50], v[i99], s / NR, NR, last / 1000 }'
}

ticks=$(getconf CLK_TCK)
now() { date +%s.%N; }

# run_calls NAME RATE [N [TABLE]]: a fresh proxy, bob registered (the
# floor relay is given the callee's port instead), N calls (default CALLS)
# at RATE; appends a row to TABLE.tsv (default calls) and returns 1 when the
# run did not pass
run_calls() {
	local name=$1 rate=$2 n=${3:-$CALLS} table=${4:-calls}
	local PP UP CP uas u0 s0 u1 s1 np m0 m1 t0 t1 ok failed retr rtt dir
	read -r PP UP CP <<<"$(free_ports 3)"
	start_proxy "$name" calls "$PP" "$UP"
	dir=$work/$table-$name-$rate
	mkdir -p "$dir"
	# bob registers from the callee's port, then the callee takes the port
	[ "$name" = floor ] ||
	sipp -sf "$SCEN/register.xml" -key user bob -key contact_port "$UP" \
		-key contact_transport udp -key call_id "bench-reg-$$-$name-$rate" -m 1 -p "$UP" \
		-i 127.0.0.1 -nostdin -timeout 10s "127.0.0.1:$PP" >/dev/null 2>&1 ||
		{ log "bench: REGISTER through $name failed"; cat "$proxy_log" >&2; exit 2; }
	local uas_cmd=(sipp -sf "$SCEN/uas.xml" -key user bob -p "$UP" -i 127.0.0.1 -nostdin
		-timeout $((n / rate + 60))s -m "$n")
	local uac_cmd=(sipp -sf "$UAC" -s bob -p "$CP" -i 127.0.0.1 -r "$rate" -m "$n"
		-l $((rate * 4)) -nostdin -timeout $((n / rate + 60))s
		-trace_stat -stf "$dir/uac.csv" -trace_rtt -rtt_freq 1 -trace_err -error_file "$dir/errors.log"
		"127.0.0.1:$PP")
	note_cmd callee "${uas_cmd[@]}"
	note_cmd caller "${uac_cmd[@]}"
	"${uas_cmd[@]}" >/dev/null 2>&1 &
	uas=$!
	pids+=("$uas")
	sleep 0.3

	local mt0 ms0 mt1 ms1 pd0 pd1 sd0 sd1
	read -r u0 s0 _ <<<"$(tree_cpu "$proxy_pid")"
	read -r m0 mt0 ms0 <<<"$(machine_cpu)"
	pd0=$(udp_drops "$PP"); sd0=$(udp_drops "$UP")
	t0=$(now)
	(cd "$dir" && "${uac_cmd[@]}" >/dev/null 2>&1)
	t1=$(now)
	read -r u1 s1 np <<<"$(tree_cpu "$proxy_pid")"
	read -r m1 mt1 ms1 <<<"$(machine_cpu)"
	pd1=$(udp_drops "$PP"); sd1=$(udp_drops "$UP")
	kill "$uas" 2>/dev/null
	wait "$uas" 2>/dev/null
	stop_proxy

	read -r ok failed retr <<<"$(sipp_counts "$dir/uac.csv")"
	rtt=$(rtt_stats "$dir")
	awk -v n="$name" -v r="$rate" -v calls="$n" -v ok="$ok" -v f="$failed" -v re="$retr" \
		-v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$ticks" -v np="$np" -v t0="$t0" -v t1="$t1" \
		-v m0="$m0" -v m1="$m1" -v mt0="$mt0" -v mt1="$mt1" -v ms0="$ms0" -v ms1="$ms1" \
		-v rtt="$rtt" -v pd=$((pd1 - pd0)) -v sd=$((sd1 - sd0)) 'BEGIN{
		split(rtt, q, " ")
		cpu = (u + s) / t; per = (ok > 0) ? cpu * 1000 / ok : 0; wall = t1 - t0
		uper = (ok > 0) ? u / t * 1000 / ok : 0; sper = (ok > 0) ? s / t * 1000 / ok : 0
		busy = (mt1 > mt0) ? 100 * (m1 - m0) / (mt1 - mt0) : 0
		steal = (mt1 > mt0) ? 100 * (ms1 - ms0) / (mt1 - mt0) : 0
		pass = (ok == calls && f == 0 && q[5] != "-" && q[5] <= 1.1 * calls / r + 0.1) ? "yes" : "no"
		clean = (pass == "yes" && re == 0) ? "yes" : "no"
		printf "%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%.3f\t%.2f\t%s\t%s\t%s\t%.0f\t%.1f\t%s\t%s\t%s\t%d\t%d\t%.3f\t%.3f\n",
			n, r, calls, ok, f, re, cpu, np, per, wall, q[1], q[2], q[3], busy, steal, pass, q[5], clean, pd, sd, uper, sper }' \
		>>"$work/$table.tsv"
	tail -1 "$work/$table.tsv" | awk -F'\t' -v tb="$table" '{
		printf "%s %-11s %5d/s: %d ok, %d failed, %d retransmissions; CPU %.2f s (%d proc), %.3f s per 1000 calls (user %.3f, system %.3f); INVITE->200 mean %s ms, median %s, p99 %s; last call at %s s, wall %.1f s; drops proxy %d, callee %d; machine busy %s%%, steal %s%%; pass %s, clean %s\n",
			tb, $1, $2, $4, $5, $6, $7, $8, $9, $21, $22, $13, $11, $12, $17, $10, $19, $20, $14, $15, $16, $18 }' >&2
	[ "$(tail -1 "$work/$table.tsv" | cut -f16)" = yes ]
}

# idle_cpu NAME: the proxy's CPU while it has nothing to do (Kamailio's
# timer processes tick anyway), IDLE seconds; sets idle_result to CPU ms
# per second
idle_cpu() {
	local name=$1 PP u0 s0 u1 s1 t0 t1
	read -r PP <<<"$(free_ports 1)"
	start_proxy "$name" calls "$PP"
	read -r u0 s0 _ <<<"$(tree_cpu "$proxy_pid")"
	t0=$(now)
	sleep "$IDLE"
	read -r u1 s1 _ <<<"$(tree_cpu "$proxy_pid")"
	t1=$(now)
	stop_proxy
	idle_result=$(awk -v c=$((u1 + s1 - u0 - s0)) -v t="$ticks" -v t0="$t0" -v t1="$t1" \
		'BEGIN{ printf "%.1f", 1000 * c / t / (t1 - t0) }')
}

# the users: SIPp's injection file (user;password;[authentication ...]) and
# Kamailio's db_text subscriber table, HA1 = md5(user:realm:password)
make_users() {
	local i u p
	echo SEQUENTIAL >"$work/users.csv"
	mkdir -p "$work/kamdb"
	printf 'id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n' \
		>"$work/kamdb/version"
	printf 'id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n' \
		>"$work/kamdb/subscriber"
	for i in $(seq 0 $((USERS - 1))); do
		printf 'user%05d;pw-%05d;[authentication username=user%05d password=pw-%05d]\n' \
			"$i" "$i" "$i" "$i"
	done >>"$work/users.csv"
	python3 - "$work/users.csv" "$REALM" >>"$work/kamdb/subscriber" <<'EOF'
import hashlib, sys
realm = sys.argv[2]
for n, line in enumerate(open(sys.argv[1]).read().split('\n')[1:]):
    if not line: continue
    user, pw = line.split(';')[:2]
    ha1 = hashlib.md5(f"{user}:{realm}:{pw}".encode()).hexdigest()
    ha1b = hashlib.md5(f"{user}@{realm}:{realm}:{pw}".encode()).hexdigest()
    print(f"{n + 1}:{user}:{realm}:{pw}:{ha1}:{ha1b}")
EOF
	[ "$durable" = 1 ] && make_users_sqlite
}

# the durable series' SQLite file: Debian's schemas for the version,
# subscriber and location tables (kamailio-sqlite-modules), WAL mode (kept
# by the file), and the same subscribers as the db_text table
make_users_sqlite() {
	python3 - "$work/kam.sqlite" "$KSQL" "$work/kamdb/subscriber" <<'EOF' ||
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for f in ("standard", "auth_db", "usrloc"):
    db.executescript(open(f"{sys.argv[2]}/{f}-create.sql").read())
db.execute("PRAGMA journal_mode=WAL")
rows = [l.split(":") for l in open(sys.argv[3]).read().split("\n")[1:] if l]
db.executemany("INSERT INTO subscriber (id, username, domain, password, ha1, ha1b)"
               " VALUES (?, ?, ?, ?, ?, ?)", rows)
db.commit()
EOF
		{ log "bench: cannot make $work/kam.sqlite"; exit 2; }
}

# run_regs NAME RATES N TABLE: one proxy for all of RATES (stops at the
# first failing rate), N registrations per rate; rows to TABLE.tsv.  The
# first switchboard instance gets the users through sbctl; a later one
# starts on the same store and finds them there.
sb_users_added=
run_regs() {
	local name=$1 rates=$2 n=$3 table=$4
	local PP UP rate u0 s0 u1 s1 np ok failed retr rtt dir t0 t1 pass pd0 pd1 sd0 sd1
	read -r PP UP <<<"$(free_ports 2)"
	start_proxy "$name" regs "$PP"
	if [ "$name" = switchboard ] && [ -z "$sb_users_added" ]; then
		sb_users_added=1
		for _ in $(seq 50); do
			"$SBCTL" --server "127.0.0.1:$api_port" --token-file "$work/token" stats \
				>/dev/null 2>&1 && break
			sleep 0.2
		done
		note_cmd sbctl "$SBCTL" --server "127.0.0.1:PORT" --token-file "$work/token" \
			user add USER --password PASSWORD
		tail -n +2 "$work/users.csv" | cut -d';' -f1,2 | tr ';' ' ' |
			xargs -P 4 -n 2 sh -c '"$0" --server "127.0.0.1:'"$api_port"'" --token-file "'"$work/token"'" user add "$1" --password "$2" >/dev/null || echo "user add $1 failed" >&2' "$SBCTL"
	fi
	if [ "$name" = switchboard ]; then
		# the API up: the store is open and the users are loaded
		for _ in $(seq 50); do
			"$SBCTL" --server "127.0.0.1:$api_port" --token-file "$work/token" stats \
				>/dev/null 2>&1 && break
			sleep 0.2
		done
	fi
	for rate in $rates; do
		dir=$work/$table-$name-$rate
		mkdir -p "$dir"
		local cmd=(sipp -sf "$REGXML" -inf "$work/users.csv" -i 127.0.0.1 -p "$UP"
			-r "$rate" -m "$n" -l $((rate * 4)) -nostdin -timeout $((n / rate + 60))s
			-trace_stat -stf "$dir/reg.csv" -trace_rtt -rtt_freq 1 -trace_err -error_file "$dir/errors.log"
			"127.0.0.1:$PP")
		note_cmd registrar "${cmd[@]}"
		read -r u0 s0 _ <<<"$(tree_cpu "$proxy_pid")"
		pd0=$(udp_drops "$PP"); sd0=$(udp_drops "$UP")
		t0=$(now)
		(cd "$dir" && "${cmd[@]}" >/dev/null 2>&1)
		t1=$(now)
		read -r u1 s1 np <<<"$(tree_cpu "$proxy_pid")"
		pd1=$(udp_drops "$PP"); sd1=$(udp_drops "$UP")
		read -r ok failed retr <<<"$(sipp_counts "$dir/reg.csv")"
		rtt=$(rtt_stats "$dir")
		awk -v n="$name" -v r="$rate" -v regs="$n" -v ok="$ok" -v f="$failed" -v re="$retr" \
			-v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$ticks" -v np="$np" -v t0="$t0" -v t1="$t1" \
			-v rtt="$rtt" -v pd=$((pd1 - pd0)) -v sd=$((sd1 - sd0)) 'BEGIN{
			split(rtt, q, " ")
			cpu = (u + s) / t; per = (ok > 0) ? cpu * 1000 / ok : 0; wall = t1 - t0
			uper = (ok > 0) ? u / t * 1000 / ok : 0; sper = (ok > 0) ? s / t * 1000 / ok : 0
			pass = (ok == regs && f == 0 && q[5] != "-" && q[5] <= 1.1 * regs / r + 0.1) ? "yes" : "no"
			clean = (pass == "yes" && re == 0) ? "yes" : "no"
			printf "%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%.3f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.3f\t%.3f\n",
				n, r, regs, ok, f, re, cpu, np, per, wall, q[1], q[2], q[3], pass, q[5], clean, pd, sd, uper, sper }' >>"$work/$table.tsv"
		tail -1 "$work/$table.tsv" | awk -F'\t' -v tb="$table" '{
			printf "%s %-11s %5d/s: %d ok, %d failed, %d retransmissions; CPU %.2f s (%d proc), %.3f s per 1000 registrations (user %.3f, system %.3f); REGISTER->200 mean %s ms, median %s, p99 %s; last at %s s, wall %.1f s; drops proxy %d, phones %d; pass %s, clean %s\n",
				tb, $1, $2, $4, $5, $6, $7, $8, $9, $19, $20, $13, $11, $12, $15, $10, $17, $18, $14, $16 }' >&2
		pass=$(tail -1 "$work/$table.tsv" | cut -f14)
		[ "$pass" = yes ] || break
	done
	stop_proxy
}

# ---------------------------------------------------------------- the run
started=$(date -u '+%Y-%m-%d %H:%M UTC')
uptime_before=$(uptime)
read -r M0 MT0 MS0 <<<"$(machine_cpu)"
others_before=$(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{printf "%s%s %s%%", (NR>1?", ":""), $2, $1}')
log "bench: $(nproc) CPUs, $uptime_before"
log "bench: calls at ${CALL_RATES// /, } calls/s, $CALLS per rate; registrations at ${REG_RATES// /, }/s, $REGS per rate, $USERS users"
: >"$work/calls.tsv"
: >"$work/regs.tsv"
: >"$work/sustained.tsv"
: >"$work/sustained-regs.tsv"
: >"$work/commands.txt"

idle_sb=- idle_km=-
if [ "$IDLE" != 0 ]; then
	idle_cpu switchboard; idle_sb=$idle_result
	idle_cpu kamailio; idle_km=$idle_result
	log "idle: switchboard $idle_sb, kamailio $idle_km CPU ms per second over ${IDLE} s"
fi

declare -A stopped=()
first_rate=${CALL_RATES%% *}
first_failed=0
i=0
for rate in $CALL_RATES; do
	# rotate which proxy goes first, so drift in the machine's load falls
	# on all three alike
	case $((i % 3)) in
	0) order="switchboard kamailio floor" ;;
	1) order="kamailio floor switchboard" ;;
	2) order="floor switchboard kamailio" ;;
	esac
	i=$((i + 1))
	for name in $order; do
		[ -n "${stopped[$name]:-}" ] && continue
		if ! run_calls "$name" "$rate"; then
			stopped[$name]=1
			[ "$rate" = "$first_rate" ] && first_failed=1
		fi
	done
done

# sustained: one rate for SUSTAIN seconds, longer than the 32 s (64 x T1)
# an RFC 3261 proxy keeps a finished non-INVITE server transaction (and an
# answered INVITE's, RFC 6026), so the number of transactions held reaches
# its steady state
if [ "$SUSTAIN" != 0 ]; then
	for name in switchboard kamailio; do
		run_calls "$name" "$SUSTAIN_CALL_RATE" $((SUSTAIN_CALL_RATE * SUSTAIN)) sustained
	done
fi

make_users
for name in switchboard kamailio; do
	run_regs "$name" "$REG_RATES" "$REGS" regs
	[ "$SUSTAIN" != 0 ] &&
		run_regs "$name" "$SUSTAIN_REG_RATE" $((SUSTAIN_REG_RATE * SUSTAIN)) sustained-regs
done
# for context: Kamailio with durable registrations (registrations only, one
# instance for all rates, no sustained run); the bindings it wrote
durable_rows=-
if [ "$durable" = 1 ]; then
	run_regs kamailio-durable "$REG_RATES" "$REGS" regs
	durable_rows=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM location").fetchone()[0])' \
		"$work/kam.sqlite" 2>/dev/null || echo "?")
	log "kamailio-durable: $durable_rows rows in its SQLite location table"
fi

# switchboard's memory: per binding, per INVITE transaction in flight
mem_binding=n/a mem_tsx=n/a core_rate=n/a
loc_out= core_out= core_rate_out=
if [ "$smoke" = 0 ]; then
	if [ -x "$BENCH_BUILD/bench/bench_location" ]; then
		note_cmd location "$BENCH_BUILD/bench/bench_location" "$BINDINGS"
		loc_out=$("$BENCH_BUILD/bench/bench_location" "$BINDINGS" 2>&1)
		mem_binding=$(awk '/bytes per binding/ {print $2; exit}' <<<"$loc_out")
		log "$loc_out"
	fi
	if [ -x "$BENCH_BUILD/bench/bench_core" ]; then
		# the row of calls ringing: heap and RSS bytes per call in flight
		# (one server + one client INVITE transaction + their context)
		note_cmd tsx "$BENCH_BUILD/bench/bench_core" --tsx-memory
		core_out=$("$BENCH_BUILD/bench/bench_core" --tsx-memory 2>&1)
		mem_tsx=$(awk '/^bob.s 100 and 180 in/ { printf "%s B heap, %s B RSS", $(NF-1), $NF; exit }' <<<"$core_out")
		mem_tsx=${mem_tsx:-n/a}
		log "$core_out"
		# the whole proxy path of a call in memory, one thread
		note_cmd core "$BENCH_BUILD/bench/bench_core"
		core_rate_out=$("$BENCH_BUILD/bench/bench_core" 2>&1)
		core_rate=$(awk '/^core calls\/s:/ { print $3; exit }' <<<"$core_rate_out")
		core_rate=${core_rate:-n/a}
		log "$core_rate_out"
	fi
fi
mem_binding=${mem_binding:-n/a}

uptime_after=$(uptime)
read -r M1 MT1 MS1 <<<"$(machine_cpu)"
finished=$(date -u '+%Y-%m-%d %H:%M UTC')
run_busy=$(awk -v a="$M0" -v b="$M1" -v c="$MT0" -v d="$MT1" 'BEGIN{printf "%.0f", (d>c)?100*(b-a)/(d-c):0}')
run_steal=$(awk -v a="$MS0" -v b="$MS1" -v c="$MT0" -v d="$MT1" 'BEGIN{printf "%.1f", (d>c)?100*(b-a)/(d-c):0}')
log "bench: $uptime_after"

# ------------------------------------------------------------- the summary
failures=$(awk -F'\t' '$16 != "yes"' "$work/calls.tsv" | wc -l)
reg_failures=$(awk -F'\t' '$14 != "yes"' "$work/regs.tsv" | wc -l)

# highest passing rate of a proxy in a table: rates are tried upwards and
# stop at the first failure, so it is the last passing row before one fails
best_rate() { # FILE NAME PASSCOL
	awk -F'\t' -v n="$2" -v c="$3" '$1 == n { if ($c == "yes" && !bad) best = $2; else bad = 1 } END { print best + 0 }' "$1"
}
field() { # FILE NAME RATE COL
	awk -F'\t' -v n="$2" -v r="$3" -v c="$4" '$1 == n && $2 == r { v = $c } END { print (v == "") ? "-" : v }' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2fx", a / b; else print "-" }'; }

if [ "$smoke" = 1 ]; then
	for name in switchboard kamailio; do
		echo "smoke $name: $(awk -F'\t' -v n="$name" '$1==n {ok+=$4; f+=$5} END {printf "%d calls ok, %d failed", ok, f}' "$work/calls.tsv"); $(awk -F'\t' -v n="$name" '$1==n {ok+=$4; f+=$5} END {printf "%d registrations ok, %d failed", ok, f}' "$work/regs.tsv")"
	done
	[ "$durable" = 1 ] &&
		echo "smoke kamailio-durable: $(awk -F'\t' '$1=="kamailio-durable" {ok+=$4; f+=$5} END {printf "%d registrations ok, %d failed", ok, f}' "$work/regs.tsv"); $durable_rows rows in its SQLite location table"
	echo "smoke floor: $(awk -F'\t' '$1=="floor" {ok+=$4; f+=$5; n++} END {printf "%d calls ok, %d failed", ok, f}' "$work/calls.tsv") (no registrations: the relay is given the callee)"
	# a sanitizer build (make test) reports into the proxy's log (the
	# floor relay is built with the same options)
	if grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$work"/switchboard-*.log "$work"/floor-*.log 2>/dev/null; then
		grep -h -A20 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$work"/switchboard-*.log "$work"/floor-*.log >&2
		echo "smoke: the sanitizers reported errors" >&2
		exit 1
	fi
	[ "$failures" = 0 ] && [ "$reg_failures" = 0 ] && [ -s "$work/regs.tsv" ] &&
		grep -q '^floor	' "$work/calls.tsv" && exit 0
	exit 1
fi

sb_ver="switchboard $(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$here/meson.build" | head -1)"
sb_build=$(cd "$(dirname "$SB")" && pwd)
sb_opts=$(python3 - "$sb_build" <<'EOF' 2>/dev/null
import json, sys, os
try:
    o = {x['name']: x['value'] for x in json.load(open(os.path.join(sys.argv[1], 'meson-info', 'intro-buildoptions.json')))}
    print(f"buildtype={o['buildtype']}, b_ndebug={o['b_ndebug']}, b_sanitize={o['b_sanitize']}")
except Exception:
    print("build options unknown")
EOF
)
kam_ver=$("$KAMAILIO" -v 2>/dev/null | sed -n '1s/^version: //p' | sed 's/ *$//')
sipp_ver=$(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1 | sed 's/\.$//')
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1)
debian=$(cat /etc/debian_version 2>/dev/null)
gcc_ver=$(gcc -dumpfullversion 2>/dev/null)

# the chart's data: rate, switchboard and Kamailio CPU ms per call (= s per
# 1000 calls), whether each passed, then the floor relay's ms and pass
{
	echo "# rate sb_ms_per_call kam_ms_per_call sb_pass kam_pass floor_ms_per_call floor_pass"
	for rate in $CALL_RATES; do
		sb=$(field "$work/calls.tsv" switchboard "$rate" 9); sbp=$(field "$work/calls.tsv" switchboard "$rate" 16)
		km=$(field "$work/calls.tsv" kamailio "$rate" 9); kmp=$(field "$work/calls.tsv" kamailio "$rate" 16)
		fl=$(field "$work/calls.tsv" floor "$rate" 9); flp=$(field "$work/calls.tsv" floor "$rate" 16)
		[ "$sb" = - ] && sb=NaN; [ "$km" = - ] && km=NaN; [ "$fl" = - ] && fl=NaN
		echo "$rate $sb $km $sbp $kmp $fl $flp"
	done
} >"$work/cpu_per_call.dat"
mkdir -p "$OUT"
chart=no
if command -v gnuplot >/dev/null; then
	anyfail=$(awk '$4 == "no" || $5 == "no" || $7 == "no" {n++} END {print n + 0}' "$work/cpu_per_call.dat")
	gp="datafile='$work/cpu_per_call.dat'; outfile='$OUT/cpu_per_call.png'; anyfail=$anyfail; subtitle='$cpu_model, $(nproc) CPUs, $started'"
	cmd_seen[gnuplot]=1
	echo "gnuplot -e \"datafile='/tmp/sb-bench.XXXXXX/cpu_per_call.dat'; outfile='bench/cpu_per_call.png'; anyfail=$anyfail; subtitle='...'\" bench/plot.gp" >>"$work/commands.txt"
	if gnuplot -e "$gp" "$here/bench/plot.gp" 2>"$work/gnuplot.log"; then
		chart=yes
	else
		cat "$work/gnuplot.log" >&2
	fi
else
	log "bench: no gnuplot (apt-get install gnuplot-nox): no chart"
fi

at200_sb=$(field "$work/calls.tsv" switchboard 200 9)
at200_km=$(field "$work/calls.tsv" kamailio 200 9)
at200_fl=$(field "$work/calls.tsv" floor 200 9)
# what the floor relay did, as run
case " $FLOOR_ARGS " in
*" --rx msg "*) floor_rx="one \`recvmsg\` per datagram until EAGAIN" ;;
*) floor_rx="\`recvmmsg\` (up to 32 datagrams a call, a short batch meaning drained)" ;;
esac
case " $FLOOR_ARGS " in
*" --trying "*) floor_what="reads with $floor_rx, sends each datagram on with its own \`sendto\`, and answers each INVITE with a canned 100 Trying: 6 datagrams in and 7 out per call, as through a proxy" ;;
*) floor_what="reads with $floor_rx and sends each datagram on with its own \`sendto\`, no SIP at all (no 100 Trying: 6 datagrams in and 6 out per call, where a proxy sends 7)" ;;
esac
# the floor relay against the goal (at most 0.2x Kamailio's CPU per call)
floor_goal() {
	if [ "$at200_fl" = - ] || [ "$at200_km" = - ]; then
		echo "the floor relay has no figure at 200 calls/s in this run"
		return
	fi
	awk -v f="$at200_fl" -v k="$at200_km" -v fu="$(field "$work/calls.tsv" floor 200 21)" \
		-v fs="$(field "$work/calls.tsv" floor 200 22)" -v q="'" 'BEGIN{
		x = (k > 0) ? f / k : 0
		printf "the kernel alone (floor relay) costs %.2fx of Kamailio%ss CPU per call at 200 calls/s (%.3f s per 1000 calls: user %.3f, system %.3f); ", x, q, f, fu, fs
		if (x > 0.2) printf "0.2x is not reachable by any proxy doing one recv and one send per message"
		else printf "0.2x is reachable by a proxy doing one recv and one send per message only if all its SIP work costs at most %.3f s per 1000 calls (0.2x Kamailio%ss less the floor)", 0.2 * k - f, q
		print "" }'
}
# "≥ N" when the highest rate tried passed: the bound, not the limit
bounded() { # RATE LIST
	[ "$1" = "${2##* }" ] && echo "≥ $1 (every rate passed)" || echo "$1"
}
best_sb=$(bounded "$(best_rate "$work/calls.tsv" switchboard 16)" "$CALL_RATES")
best_km=$(bounded "$(best_rate "$work/calls.tsv" kamailio 16)" "$CALL_RATES")
best_fl=$(bounded "$(best_rate "$work/calls.tsv" floor 16)" "$CALL_RATES")
clean_sb=$(bounded "$(best_rate "$work/calls.tsv" switchboard 18)" "$CALL_RATES")
clean_km=$(bounded "$(best_rate "$work/calls.tsv" kamailio 18)" "$CALL_RATES")
clean_fl=$(bounded "$(best_rate "$work/calls.tsv" floor 18)" "$CALL_RATES")
# registrations: the CPU per 1000 at each rate both passed, and their ratio
reg_ratios=$(for rate in $REG_RATES; do
	a=$(field "$work/regs.tsv" switchboard "$rate" 9); b=$(field "$work/regs.tsv" kamailio "$rate" 9)
	[ "$a" != - ] && [ "$b" != - ] && echo "$rate/s $(ratio "$a" "$b")"
done | paste -sd, | sed 's/,/, /g')
reg_ratios_durable=$(for rate in $REG_RATES; do
	a=$(field "$work/regs.tsv" switchboard "$rate" 9); b=$(field "$work/regs.tsv" kamailio-durable "$rate" 9)
	[ "$a" != - ] && [ "$b" != - ] && echo "$rate/s $(ratio "$a" "$b")"
done | paste -sd, | sed 's/,/, /g')

{
cat <<EOF
# Benchmark results: switchboard and Kamailio side by side

Written by \`make bench\` (bench/bench.sh) on $started; finished $finished.
Issue 6's goals and how to read this: bench/README.md.

## Machine and versions

| | |
|---|---|
| CPU | $cpu_model, $(nproc) CPUs$([ -n "$hyper" ] && echo ", $hyper VM") |
| kernel | $(uname -r) |
| Debian | $debian |
| load before | \`$(sed 's/^ *//' <<<"$uptime_before")\` |
| load after | \`$(sed 's/^ *//' <<<"$uptime_after")\` |
| during the run | machine busy $run_busy% of all CPUs (the proxies and SIPp included), steal $run_steal% |
| busiest processes at the start | $others_before |
| switchboard | $sb_ver, $(basename "$sb_build")/ ($sb_opts), gcc $gcc_ver |
| Kamailio | $kam_ver (Debian package), \`-x fm -X fm -n 1\` |
| SIPp | $sipp_ver |

## Summary

The floor relay (bench/floor_relay.c$([ -n "$FLOOR_ARGS" ] && echo ", \`$FLOOR_ARGS\`")) is no proxy: it
forwards each datagram unchanged; it $floor_what. Its CPU per call is what
the kernel costs any proxy that does one receive and one send per message.

| | switchboard | Kamailio | ratio | floor relay | floor/Kamailio |
|---|---:|---:|---:|---:|---:|
EOF
calls_sum() { # NAME: completed / failed over every rate
	awk -F'\t' -v n="$1" '$1==n{ok+=$4; f+=$5} END{print ok+0 " / " f+0}' "$work/calls.tsv"
}
echo "| calls completed / failed (all rates) | $(calls_sum switchboard) | $(calls_sum kamailio) | | $(calls_sum floor) | |"
for rate in $CALL_RATES; do
	a=$(field "$work/calls.tsv" switchboard "$rate" 9); b=$(field "$work/calls.tsv" kamailio "$rate" 9)
	c=$(field "$work/calls.tsv" floor "$rate" 9)
	[ "$a" = - ] && [ "$b" = - ] && [ "$c" = - ] && continue
	echo "| CPU s per 1000 calls at $rate calls/s | $a | $b | $(ratio "$a" "$b") | $c | $(ratio "$c" "$b") |"
done
user_sys() { # NAME RATE: user / system s per 1000 calls
	echo "$(field "$work/calls.tsv" "$1" "$2" 21) / $(field "$work/calls.tsv" "$1" "$2" 22)"
}
if [ "$at200_sb$at200_km$at200_fl" != --- ]; then
	echo "| CPU s per 1000 calls at 200 calls/s, user / system | $(user_sys switchboard 200) | $(user_sys kamailio 200) | | $(user_sys floor 200) | |"
fi
echo "| highest call rate with no failed call (of ${CALL_RATES// /, }) | $best_sb | $best_km | | $best_fl | |"
echo "| highest call rate with no failed call and no retransmission | $clean_sb | $clean_km | | $clean_fl | |"
echo "| CPU while idle, ms per second ($IDLE s, no traffic) | $idle_sb | $idle_km | | not measured | |"
for rate in $CALL_RATES; do
	a=$(field "$work/calls.tsv" switchboard "$rate" 13)" / "$(field "$work/calls.tsv" switchboard "$rate" 11)" / "$(field "$work/calls.tsv" switchboard "$rate" 12)
	b=$(field "$work/calls.tsv" kamailio "$rate" 13)" / "$(field "$work/calls.tsv" kamailio "$rate" 11)" / "$(field "$work/calls.tsv" kamailio "$rate" 12)
	c=$(field "$work/calls.tsv" floor "$rate" 13)" / "$(field "$work/calls.tsv" floor "$rate" 11)" / "$(field "$work/calls.tsv" floor "$rate" 12)
	[ "$a" = "- / - / -" ] && [ "$b" = "- / - / -" ] && [ "$c" = "- / - / -" ] && continue
	echo "| INVITE→200 mean / median / p99 ms at $rate calls/s | $a | $b | | $c | |"
done
for rate in $REG_RATES; do
	a=$(field "$work/regs.tsv" switchboard "$rate" 9); b=$(field "$work/regs.tsv" kamailio "$rate" 9)
	[ "$a" = - ] && [ "$b" = - ] && continue
	echo "| CPU s per 1000 registrations at $rate/s | $a | $b | $(ratio "$a" "$b") |"
done
echo "| highest registration rate with no failure (of ${REG_RATES// /, }) | $(bounded "$(best_rate "$work/regs.tsv" switchboard 14)" "$REG_RATES") | $(bounded "$(best_rate "$work/regs.tsv" kamailio 14)" "$REG_RATES") | |"
echo "| highest registration rate with no failure and no retransmission | $(bounded "$(best_rate "$work/regs.tsv" switchboard 16)" "$REG_RATES") | $(bounded "$(best_rate "$work/regs.tsv" kamailio 16)" "$REG_RATES") | |"
for rate in $REG_RATES; do
	a=$(field "$work/regs.tsv" switchboard "$rate" 9); b=$(field "$work/regs.tsv" kamailio-durable "$rate" 9)
	[ "$b" = - ] && continue
	echo "| CPU s per 1000 registrations at $rate/s, Kamailio durable (usrloc written to SQLite; Kamailio column) | $a | $b | $(ratio "$a" "$b") |"
done
if grep -q '^kamailio-durable	' "$work/regs.tsv"; then
	echo "| highest registration rate with no failure, Kamailio durable (Kamailio column) | $(bounded "$(best_rate "$work/regs.tsv" switchboard 14)" "$REG_RATES") | $(bounded "$(best_rate "$work/regs.tsv" kamailio-durable 14)" "$REG_RATES") | |"
fi
for rate in $REG_RATES; do
	a=$(field "$work/regs.tsv" switchboard "$rate" 13)" / "$(field "$work/regs.tsv" switchboard "$rate" 11)" / "$(field "$work/regs.tsv" switchboard "$rate" 12)
	b=$(field "$work/regs.tsv" kamailio "$rate" 13)" / "$(field "$work/regs.tsv" kamailio "$rate" 11)" / "$(field "$work/regs.tsv" kamailio "$rate" 12)
	[ "$a" = "- / - / -" ] && [ "$b" = "- / - / -" ] && continue
	echo "| REGISTER→200 (both round trips) mean / median / p99 ms at $rate/s | $a | $b | |"
done
if [ -s "$work/sustained.tsv" ]; then
	a=$(awk -F'\t' '$1=="switchboard"{print $4 " / " $5}' "$work/sustained.tsv")
	b=$(awk -F'\t' '$1=="kamailio"{print $4 " / " $5}' "$work/sustained.tsv")
	echo "| sustained: $((SUSTAIN_CALL_RATE * SUSTAIN)) calls at $SUSTAIN_CALL_RATE calls/s ($SUSTAIN s), completed / failed | $a | $b | |"
	a=$(field "$work/sustained.tsv" switchboard "$SUSTAIN_CALL_RATE" 9); b=$(field "$work/sustained.tsv" kamailio "$SUSTAIN_CALL_RATE" 9)
	echo "| sustained: CPU s per 1000 calls at $SUSTAIN_CALL_RATE calls/s | $a | $b | $(ratio "$a" "$b") |"
fi
if [ -s "$work/sustained-regs.tsv" ]; then
	a=$(awk -F'\t' '$1=="switchboard"{print $4 " / " $5}' "$work/sustained-regs.tsv")
	b=$(awk -F'\t' '$1=="kamailio"{print $4 " / " $5}' "$work/sustained-regs.tsv")
	echo "| sustained: $((SUSTAIN_REG_RATE * SUSTAIN)) registrations at $SUSTAIN_REG_RATE/s ($SUSTAIN s), completed / failed | $a | $b | |"
	a=$(field "$work/sustained-regs.tsv" switchboard "$SUSTAIN_REG_RATE" 9); b=$(field "$work/sustained-regs.tsv" kamailio "$SUSTAIN_REG_RATE" 9)
	echo "| sustained: CPU s per 1000 registrations at $SUSTAIN_REG_RATE/s | $a | $b | $(ratio "$a" "$b") |"
fi
echo "| memory per binding, $BINDINGS bindings (bench_location) | $mem_binding$([ "$mem_binding" != n/a ] && echo " bytes") | not measured | |"
echo "| memory per INVITE in flight, ringing: server + client transaction + context (bench_core --tsx-memory) | $mem_tsx | not measured | |"
echo "| core path: calls/s on one thread, in memory, no sockets (bench_core) | $core_rate | not measured | |"
cat <<EOF

Issue 6's goals, in this run:

- CPU per call at 200 calls/s at most 0.2x Kamailio's: $(ratio "$at200_sb" "$at200_km") ($at200_sb against $at200_km s per 1000 calls).
- $(floor_goal).
- CPU per authenticated registration at most 0.25x Kamailio's: ${reg_ratios:--}.
  For context, against Kamailio with durable registrations too (usrloc
  written through to SQLite, \`db_mode\` 1; not the goal's comparison): ${reg_ratios_durable:--}.
- highest call rate with no failure at least Kamailio's: $best_sb against $best_km calls/s (runs of $CALLS calls)$([ -s "$work/sustained.tsv" ] && echo "; held for $SUSTAIN s at $SUSTAIN_CALL_RATE calls/s: switchboard $(awk -F'	' '$1=="switchboard"{print $4 " ok, " $5 " failed"}' "$work/sustained.tsv"), Kamailio $(awk -F'	' '$1=="kamailio"{print $4 " ok, " $5 " failed"}' "$work/sustained.tsv")").
- at most 400 bytes per binding with a million bindings: $mem_binding; at most 2 KiB per INVITE transaction: $mem_tsx per call in flight (two transactions and a context).
- the core path at least 100,000 calls/s on one core: $core_rate.

$([ "$chart" = yes ] && echo "![CPU per call against call rate](cpu_per_call.png)")

## Every run

Calls: $CALLS per rate, a fresh proxy for each run, the proxies (and the
floor relay, which is given the callee's address instead of bob's
registration) taking turns to go first. CPU is user + system time of all
the proxy's processes (\`/proc/PID/stat\`, the main process and its
descendants) from the moment the callee is up to the caller's end: start-up
and bob's registration are not counted; *user* and *sys* are its two parts
per 1000 calls (split by the kernel in the ratio of the clock ticks that
found the process in each mode: rough for short bursts, steadier summed). *last call* is when the caller started its last call (seconds
after its start; on rate: (calls - 1) / rate), *wall* the caller's run time;
*busy*/*steal* are the whole machine's (both CPUs) during the run. A run
*passes* with every call completed, none failed, and the caller on rate
(last call at most 10% + 0.1 s late); a proxy's higher rates are skipped
after its first failure. A passing run is *clean* without any
retransmission (SIPp retransmits after 500 ms without an answer: a message
lost in a full socket buffer, or a proxy that fell behind). *drops* are the
datagrams the kernel dropped because a socket's receive buffer was full
(\`/proc/net/udp\`): the proxy's socket, and the callee's (SIPp's).

| proxy | rate/s | calls | ok | failed | retrans | drops proxy | drops callee | CPU s | procs | CPU s/1000 | user s/1000 | sys s/1000 | INVITE→200 mean ms | median | p99 | last call s | wall s | busy % | steal % | pass | clean |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|
EOF
sort -t$'\t' -k2,2n -k1,1 "$work/calls.tsv" | awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4, $5, $6, $19, $20, $7, $8, $9, $21, $22, $13, $11, $12, $17, $10, $14, $15, $16, $18 " |" }'
cat <<EOF

Registrations: $USERS users, $REGS registrations per rate (each takes the
next user, round robin), one proxy instance for all rates, rates upwards
until the first failure; *pass*, *clean* and *drops* as for calls (the
phones' socket is SIPp's). Response time:
first REGISTER sent to the final 200 (REGISTER, 401, REGISTER, 200).

| proxy | rate/s | registrations | ok | failed | retrans | drops proxy | drops phones | CPU s | procs | CPU s/1000 | user s/1000 | sys s/1000 | REGISTER→200 mean ms | median | p99 | last s | wall s | pass | clean |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|
EOF
awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4, $5, $6, $17, $18, $7, $8, $9, $19, $20, $13, $11, $12, $15, $10, $14, $16 " |" }' "$work/regs.tsv"
if [ -s "$work/sustained.tsv" ] || [ -s "$work/sustained-regs.tsv" ]; then
	cat <<EOT

Sustained: one rate held for $SUSTAIN s, longer than the 32 s (64 × T1) for
which an RFC 3261 proxy keeps a finished non-INVITE server transaction (and,
RFC 6026, an answered INVITE's), so that the transactions held reach their
steady state; the runs above, $CALLS calls or $REGS registrations each,
end sooner at the high rates. Calls through a fresh proxy; registrations
through a fresh proxy on the same users (switchboard on the same store).

| proxy | rate/s | calls | ok | failed | retrans | drops proxy | drops callee | CPU s | procs | CPU s/1000 | user s/1000 | sys s/1000 | INVITE→200 mean ms | median | p99 | last call s | wall s | busy % | steal % | pass | clean |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|
EOT
	awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4, $5, $6, $19, $20, $7, $8, $9, $21, $22, $13, $11, $12, $17, $10, $14, $15, $16, $18 " |" }' "$work/sustained.tsv"
	cat <<EOT

| proxy | rate/s | registrations | ok | failed | retrans | drops proxy | drops phones | CPU s | procs | CPU s/1000 | user s/1000 | sys s/1000 | REGISTER→200 mean ms | median | p99 | last s | wall s | pass | clean |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|
EOT
	awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4, $5, $6, $17, $18, $7, $8, $9, $19, $20, $13, $11, $12, $15, $10, $14, $16 " |" }' "$work/sustained-regs.tsv"
fi
if [ -n "$loc_out" ] || [ -n "$core_out" ]; then
	echo
	echo "Switchboard's memory:"
	echo
	echo '```'
	[ -n "$loc_out" ] && echo "$loc_out"
	[ -n "$core_out" ] && echo "$core_out"
	echo '```'
fi
if [ -n "$core_rate_out" ]; then
	echo
	echo "The core path (bench_core):"
	echo
	echo '```'
	echo "$core_rate_out"
	echo '```'
fi
cat <<EOF

## Commands

\`make bench\` builds build/ (release, \`-Db_ndebug=true\`) and build-bench/
(the same plus \`-Dbench=true\`), then runs

    SB=build/switchboard SBCTL=build/sbctl BENCH_BUILD=build-bench bench/bench.sh

with CALL_RATES="$CALL_RATES" CALLS=$CALLS REG_RATES="$REG_RATES" REGS=$REGS
USERS=$USERS BINDINGS=$BINDINGS IDLE=$IDLE SUSTAIN=$SUSTAIN
SUSTAIN_CALL_RATE=$SUSTAIN_CALL_RATE SUSTAIN_REG_RATE=$SUSTAIN_REG_RATE. The commands it ran, the first of each
kind (/tmp/sb-bench.XXXXXX is its temporary directory; the ports are free
ones picked per run; the rates and counts change from run to run):

\`\`\`
EOF
cat "$work/commands.txt"
cat <<EOF
\`\`\`

## What is not the same for the two proxies

- The floor relay is not a proxy and is in the tables only as the kernel's
  share: it runs the calls (not the idle, sustained or registration runs)
  with the callee's address on its command line, so no REGISTER; it adds no
  Via or Record-Route; it $floor_what. Its loop is switchboard's
  (level-triggered \`epoll_wait\`, at most 64 datagrams per wakeup, the
  same socket buffers), so its CPU is a lower bound for any proxy doing one
  receive and one send per message; not for one that sends with
  \`sendmmsg\`, which only pays when several messages leave at once. It
  keeps no transaction, so a retransmission (SIPp retransmits after 500 ms
  without an answer) goes through to the other SIPp where a proxy would
  absorb it; the callee then aborts the call on an INVITE it did not
  expect: on a stalled machine the floor can fail calls where the proxies
  only retransmit.
- Memory: Kamailio's shared pool is fixed at start (\`-m 1024\` MB, as
  Debian's 64 MB runs out from about 400 calls/s: every transaction stays
  5 s past its end); switchboard allocates with malloc as it goes.
- Processes: switchboard is one process and one thread; Kamailio with
  \`-n 1\` runs $(awk -F'\t' '$1=="kamailio"{print $8; exit}' "$work/calls.tsv")
  processes (main, one UDP worker, timers, ...). The CPU of all of them is
  counted.
- Transactions: Kamailio's registrar and auth_challenge answer a REGISTER
  statelessly (sl: no transaction), and tm keeps an INVITE or BYE
  transaction 5 s after its end (wt_timer). Switchboard answers every
  request in a server transaction and keeps a finished non-INVITE one
  32 s (Timer J, 64 × T1) and an answered INVITE's 32 s (RFC 6026), with
  at most 65536 transactions (SB_TSX_DEFAULT_MAX) and a 503 past them: about
  two transactions per registration and three per call are held 32 s.
- Registrations are durable in switchboard: each 200 leaves once its binding
  is committed to the SQLite store (group commit by a writer thread, WAL,
  \`synchronous=NORMAL\`: no fsync per commit). Kamailio keeps its
  location table in memory only (usrloc \`db_mode\` 0); nothing is written.
  The *kamailio-durable* rows (registrations only) are Kamailio with usrloc
  written through (\`db_mode\` 1: an INSERT or UPDATE in the worker before
  the 200, one transaction per REGISTER) to a SQLite file (db_sqlite), its
  subscribers read from the same file (one indexed SELECT per
  authentication, where db_text scans), $durable_rows bindings in its
  location table at the end. That file is in WAL mode too, but db_sqlite
  sets no \`synchronous\`, so SQLite's default (FULL, Debian's build)
  stands: an fdatasync of the WAL per REGISTER (strace: 22 for the smoke
  run's 20 registrations), which switchboard does not do.
- Credentials: switchboard reads them from its SQLite store (users added with
  sbctl); Kamailio from a db_text table (auth_db), read into memory at
  start-up and scanned row by row on each query. That scan grows with the
  users: in side runs on this machine (2026-11-22, 5000 registrations per
  rate) Kamailio spent 0.12-0.14 s per 1000 registrations at 500/s with 20
  users against 0.24-0.27 s with 2000, and 0.054-0.058 against 0.11-0.16 s
  at 2000/s; switchboard 0.25 against 0.25-0.33 s at 500/s. With an indexed
  backend (db_sqlite, Debian's kamailio-sqlite-modules) Kamailio would
  likely be near its 20-user figures.
- Challenges: both offer MD5 with qop=auth (switchboard \`--auth-algorithms
  MD5\`, Kamailio \`auth_challenge("\$fd", "1")\`), and both check that the
  authenticated user owns the AOR (Kamailio \`auth_check(..., "1")\`).
  Switchboard also counts failures per user and address (its guard); there
  are none in this run.
- Response times are SIPp's (\`-trace_rtt\`), in whole milliseconds: SIPp
  reads its millisecond clock once per turn of its event loop, and the
  loop's own waits add to what it measures. A median of 0 ms means under a
  millisecond, and the percentiles move in steps of several milliseconds;
  the means, which average over those steps, compare best. The same SIPp
  processes, which load the machine, measure both proxies alike.
- SIPp (caller and callee, one process each) runs on the same $(nproc) CPUs as
  the proxy under test; at the high rates it competes with the proxy, so the
  highest passing rate is the machine's, not the proxy's alone. The number of
  calls is the same at every rate, so from about 1600 calls/s a run lasts
  under 3 s: the highest rates measure a burst more than a sustained load,
  and they move from run to run.
EOF
} >"$work/RESULTS.md"
cp "$work/RESULTS.md" "$OUT/RESULTS.md"
log "bench: wrote $OUT/RESULTS.md$([ "$chart" = yes ] && echo " and $OUT/cpu_per_call.png")"
cat "$work/RESULTS.md"
[ "$first_failed" = 0 ]
