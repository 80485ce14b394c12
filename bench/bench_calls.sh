#!/bin/bash
# bench_calls.sh: call flow 1 of the proxy issue (INVITE/100/180/200/ACK/BYE/200
# through the proxy, ACK and BYE following the Record-Route) at a fixed rate,
# SIPp caller and callee on loopback, and the CPU the proxy spent (utime +
# stime from /proc/PID/stat, summed over all of its processes) per 1000 calls.
#
#   bench/bench_calls.sh [RATE] [CALLS]        defaults: 200 calls/s, 4000 calls
#   bench/bench_calls.sh --peer kamailio [RATE] [CALLS]
#       the same workload through switchboard, then through Kamailio
#       (bench/kamailio.cfg), in the same run, and the ratio of CPU per call
#   --peer floor, --peer kamailio,floor
#       the same through the floor relay (bench/floor_relay.c: recvmmsg
#       and one sendto per datagram, no SIP: what the kernel alone costs)
#   --only NAME   only that one: switchboard, kamailio or floor
#   SB=path/to/switchboard       (default build/switchboard)
#   KAMAILIO=path/to/kamailio    (default: kamailio on PATH)
#   FLOOR=path/to/floor_relay    (default build-bench/bench/floor_relay,
#                                 else bench/floor_relay next to SB's build)
#   FLOOR_ARGS="--trying" or "--rx msg"   options of the floor relay
#
# Prints one line per proxy: rate, calls ok/failed, CPU seconds (user and
# system apart), CPU s per 1000 calls; with peers the ratios of CPU per call.
# Exits non-zero when a call failed or a process could not start.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
SB=${SB:-$here/build/switchboard}
KAMAILIO=${KAMAILIO:-kamailio}
FLOOR=${FLOOR:-}
if [ -z "$FLOOR" ]; then
	FLOOR=$here/build-bench/bench/floor_relay
	[ -x "$FLOOR" ] || FLOOR=$(dirname "$SB")/bench/floor_relay
fi
KCFG=$here/bench/kamailio.cfg
peer=           # the peers, space-separated
only=
while [ $# -gt 0 ]; do
	case $1 in
	--peer) peer+=" ${2:-}"; shift 2 || shift ;;
	--peer=*) peer+=" ${1#--peer=}"; shift ;;
	--only) only=${2:-}; shift 2 || shift ;;
	--only=*) only=${1#--only=}; shift ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--*) echo "bench_calls: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
read -ra plist <<<"${peer//,/ }"
peer="${plist[*]}"   # the names, one space apart
for p in $peer; do
	case $p in
	kamailio | floor) ;;
	*) echo "bench_calls: --peer takes kamailio, floor or both (kamailio,floor)" >&2; exit 2 ;;
	esac
done
case $only in
'' | switchboard | kamailio | floor) ;;
*) echo "bench_calls: --only takes switchboard, kamailio or floor" >&2; exit 2 ;;
esac
if [ -n "$only" ] && [ -n "$peer" ]; then
	echo "bench_calls: --only and --peer exclude each other" >&2; exit 2
fi
RATE=${1:-200}
CALLS=${2:-4000}
SCEN=$here/tests/flows/scenarios
work=$(mktemp -d /tmp/sb-bench-calls.XXXXXX)
pids=()         # every process this script started, killed at exit by pid
proxy_pid=      # the main process of the proxy under test

. "$here/bench/proctree.sh"

stop_proxy() {
	[ -n "$proxy_pid" ] || return 0
	local kids
	kids=$(tree_pids "$proxy_pid")
	kill "$proxy_pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$proxy_pid" 2>/dev/null || break
		sleep 0.2
	done
	# whatever is left of the tree (a worker the main process did not end)
	for p in $kids; do kill -9 "$p" 2>/dev/null; done
	wait "$proxy_pid" 2>/dev/null
	proxy_pid=
}

cleanup() {
	stop_proxy
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

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

ticks=$(getconf CLK_TCK)
failures=0

# run NAME (switchboard | kamailio | floor): start that proxy, register bob
# (not for the floor: it is given the callee's address), run the calls,
# print the line; sets per_1000 to its CPU s per 1000 calls
run() {
	local name=$1 ports PP UP CP u0 s0 u1 s1 n1 ok failed uas log=$work/$1.log
	# three free UDP ports on loopback
	ports=$(python3 -c '
import socket
ss=[socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
	read -r PP UP CP <<<"$ports"

	case $name in
	switchboard)
		[ -x "$SB" ] || { echo "bench_calls: no server at $SB (run make first)" >&2; exit 2; }
		# calls only: no authentication (Kamailio's cfg challenges none
		# either), no admin API, a store of its own
		"$SB" --listen "udp:127.0.0.1:$PP" --domain 127.0.0.1 --log-level warn \
			--auth-methods none --api none --store "$work/sb.db" 2>"$log" &
		;;
	kamailio)
		command -v "$KAMAILIO" >/dev/null ||
			{ echo "bench_calls: no kamailio (apt-get install kamailio)" >&2; exit 2; }
		# -DD: the main process stays our child and forks its workers;
		# -x/-X fm: the fast allocator for shared and private memory (the
		# default q_malloc is a debugging allocator and much slower);
		# -n 1: one UDP worker (switchboard is one thread)
		mkdir -p "$work/kamailio"
		"$KAMAILIO" -f "$KCFG" -DD -E -x fm -X fm -m 1024 -M 16 -n 1 \
			-l "udp:127.0.0.1:$PP" -w "$work/kamailio" -Y "$work/kamailio" >"$log" 2>&1 &
		;;
	floor)
		[ -x "$FLOOR" ] || { echo "bench_calls: no floor relay at $FLOOR (ninja -C build-bench)" >&2; exit 2; }
		# shellcheck disable=SC2086 # FLOOR_ARGS: options, split on spaces
		"$FLOOR" --listen "127.0.0.1:$PP" --callee "127.0.0.1:$UP" ${FLOOR_ARGS:-} 2>"$log" &
		;;
	esac
	proxy_pid=$!
	wait_udp "$PP" || { echo "bench_calls: $name did not start:" >&2; cat "$log" >&2; exit 2; }
	sleep 0.3   # Kamailio: let the workers finish their start-up

	# bob registers from the callee's own port, then the callee takes the port
	[ "$name" = floor ] ||
	sipp -sf "$SCEN/register.xml" -key user bob -key contact_port "$UP" \
		-key contact_transport udp -key call_id "bench-reg-$$-$name" -m 1 -p "$UP" \
		-i 127.0.0.1 -nostdin -timeout 10s "127.0.0.1:$PP" >/dev/null 2>&1 ||
		{ echo "bench_calls: REGISTER through $name failed" >&2; cat "$log" >&2; exit 2; }
	sipp -sf "$SCEN/uas.xml" -key user bob -p "$UP" -i 127.0.0.1 -nostdin \
		-timeout $((CALLS / RATE + 60))s -m "$CALLS" >/dev/null 2>&1 &
	uas=$!
	pids+=("$uas")
	sleep 0.3

	read -r u0 s0 _ <<<"$(tree_cpu "$proxy_pid")"
	sipp -sf "$SCEN/uac.xml" -s bob -p "$CP" -i 127.0.0.1 -r "$RATE" -m "$CALLS" \
		-l $((RATE * 4)) -nostdin -timeout $((CALLS / RATE + 60))s \
		-trace_stat -stf "$work/uac-$name.csv" "127.0.0.1:$PP" >/dev/null 2>&1
	read -r u1 s1 n1 <<<"$(tree_cpu "$proxy_pid")"
	kill "$uas" 2>/dev/null
	wait "$uas" 2>/dev/null
	stop_proxy

	# the last line of SIPp's statistics file holds the cumulative counters
	read -r ok failed < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++){if($i=="SuccessfulCall(C)")s=i;if($i=="FailedCall(C)")f=i}} END{print $s+0, $f+0}' "$work/uac-$name.csv" 2>/dev/null)
	ok=${ok:-0} failed=${failed:-0}
	per_1000=$(awk -v ok="$ok" -v c=$((u1 + s1 - u0 - s0)) -v t="$ticks" 'BEGIN{cpu=c/t; printf "%.4f", (ok>0)?cpu*1000/ok:0}')
	awk -v n="$name" -v r="$RATE" -v ok="$ok" -v f="$failed" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
		-v t="$ticks" -v np="$n1" -v verbose="$peer$only" 'BEGIN{
		cpu=(u+s)/t; k=(ok>0)?1000/ok:0;
		procs=(verbose!="")?sprintf(" (%d process%s)", np, np==1?"":"es"):"";
		printf "rate %d calls/s: %d ok, %d failed; %s CPU %.2f s (user %.2f, system %.2f)%s, %.3f s per 1000 calls (user %.3f, system %.3f)\n",
			r, ok, f, n, cpu, u/t, s/t, procs, cpu*k, u/t*k, s/t*k }'
	if [ "$failed" != 0 ] || [ "$ok" -le 0 ]; then failures=$((failures + 1)); fi
}

if [ -n "$only" ]; then names=$only; else names="switchboard $peer"; fi
if [ -n "$peer$only" ]; then
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); $CALLS calls at $RATE calls/s through each"
fi
declare -A per=()
for name in $names; do
	run "$name"
	per[$name]=$per_1000
done
# A/B CPU per call, for the pairs that ran
ratio_line() {
	[ -n "${per[$1]:-}" ] && [ -n "${per[$2]:-}" ] || return 0
	awk -v a="${per[$1]}" -v b="${per[$2]}" -v r="$RATE" -v x="$1" -v y="$2" 'BEGIN{
		if (b > 0) printf "%s/%s CPU per call at %d calls/s: %.3fx\n", x, y, r, a / b
		else printf "%s/%s CPU per call: n/a (no %s figure)\n", x, y, y }'
}
ratio_line switchboard kamailio
ratio_line floor kamailio
ratio_line switchboard floor
if [ -n "$peer$only" ]; then
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)$([ -n "${per[kamailio]:-}" ] && echo "; $("$KAMAILIO" -v 2>/dev/null | sed -n '1s/^version: \([^ ]* [^ ]*\).*/\1/p')")"
fi
[ "$failures" = 0 ]
