#!/bin/bash
# bench_register.sh: registrations with digest authentication (RFC 3665 §2.1:
# REGISTER, 401, REGISTER with credentials, 200) for many distinct users,
# SIPp as the phones on loopback, and the CPU switchboard spent (utime +
# stime from /proc/PID/stat) per 1000 registrations.  Every 200 is sent only
# once its binding is committed to the SQLite store.  The challenges offer
# MD5 only: SIPp's [authentication] computes no SHA-256 and gives up on a
# SHA-256 challenge listed first.
#
#   bench/bench_register.sh [RATES] [REGS] [USERS]
#       defaults: RATES "250 500 1000 2000" registrations/s, 5000 per rate,
#       2000 users (created through sbctl before the runs; each registration
#       takes the next user of the file, round robin)
#   SB=path/to/switchboard SBCTL=path/to/sbctl   (default build/...)
#
# Prints one line per rate (ok, failed, CPU, CPU s per 1000 registrations)
# and the highest rate without a failed registration.  Exits non-zero when
# the server could not start or no rate passed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
SB=${SB:-$here/build/switchboard}
SBCTL=${SBCTL:-$here/build/sbctl}
case ${1:-} in -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
RATES=${1:-250 500 1000 2000}
REGS=${2:-5000}
USERS=${3:-2000}
work=$(mktemp -d /tmp/sb-bench-reg.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
for x in "$SB" "$SBCTL"; do
	[ -x "$x" ] || { echo "bench_register: no $x (run make first)" >&2; exit 2; }
done
command -v sipp >/dev/null || { echo "bench_register: no sipp (apt-get install sip-tester)" >&2; exit 2; }

# free ports: the proxy's, the API's and the phones'
read -r PP AP UP <<<"$(python3 -c '
import socket
ss=[socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')"
"$SB" --listen "udp:127.0.0.1:$PP" --domain 127.0.0.1 --realm 127.0.0.1 --log-level warn \
	--store "$work/sb.db" --api "127.0.0.1:$AP" --api-token-file "$work/token" \
	--auth-methods REGISTER --auth-algorithms MD5 2>"$work/server.log" &
pid=$!
for _ in $(seq 50); do
	"$SBCTL" --server "127.0.0.1:$AP" --token-file "$work/token" stats >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 2; }
	sleep 0.2
done

# the users, and SIPp's injection file (SEQUENTIAL: user;password;credentials)
echo SEQUENTIAL >"$work/users.csv"
for i in $(seq 0 $((USERS - 1))); do
	# field2: SIPp expands a keyword given in a field, not a field inside a keyword
	printf 'user%05d;pw-%05d;[authentication username=user%05d password=pw-%05d]\n' \
		"$i" "$i" "$i" "$i" >>"$work/users.csv"
done
tail -n +2 "$work/users.csv" | cut -d';' -f1,2 | tr ';' ' ' |
	xargs -P 4 -n 2 sh -c '"$0" --server "127.0.0.1:'"$AP"'" --token-file "'"$work/token"'" user add "$1" --password "$2" >/dev/null || echo "user add $1 failed" >&2' "$SBCTL"
echo "switchboard on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $USERS users, $REGS registrations per rate"

ticks=$(getconf CLK_TCK)
best=0
for rate in $RATES; do
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	sipp -sf "$here/bench/register_auth.xml" -inf "$work/users.csv" -i 127.0.0.1 -p "$UP" \
		-r "$rate" -m "$REGS" -l $((rate * 4)) -nostdin -timeout $((REGS / rate + 60))s \
		-trace_stat -stf "$work/reg-$rate.csv" "127.0.0.1:$PP" >/dev/null 2>&1
	c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	read -r ok failed < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++){if($i=="SuccessfulCall(C)")s=i;if($i=="FailedCall(C)")f=i}} END{print $s+0, $f+0}' "$work/reg-$rate.csv" 2>/dev/null)
	ok=${ok:-0} failed=${failed:-0}
	awk -v r="$rate" -v ok="$ok" -v f="$failed" -v c0="$c0" -v c1="$c1" -v t="$ticks" 'BEGIN{
		cpu=(c1-c0)/t; per=(ok>0)?cpu*1000/ok:0;
		printf "rate %d registrations/s: %d ok, %d failed; switchboard CPU %.2f s, %.3f s per 1000 registrations\n", r, ok, f, cpu, per }'
	if [ "$failed" = 0 ] && [ "$ok" -gt 0 ]; then best=$rate; fi
done
echo "highest rate without a failed registration: $best registrations/s"
[ "$best" -gt 0 ]
