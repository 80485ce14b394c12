#!/bin/bash
# bench_calls.sh: call flow 1 of the proxy issue (INVITE/100/180/200/ACK/BYE/200
# through the proxy, ACK and BYE following the Record-Route) at a fixed rate,
# SIPp caller and callee on loopback, and the CPU the switchboard process spent
# (utime + stime from /proc/PID/stat) per 1000 calls.
#
#   bench/bench_calls.sh [RATE] [CALLS]        defaults: 200 calls/s, 4000 calls
#   SB=path/to/switchboard bench/bench_calls.sh  (default build/switchboard)
#
# Prints one line: rate, calls ok/failed, CPU seconds, CPU s per 1000 calls.
# Exits non-zero when a call failed or a process could not start.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
SB=${SB:-$here/build/switchboard}
RATE=${1:-200}
CALLS=${2:-4000}
SCEN=$here/tests/flows/scenarios
work=$(mktemp -d /tmp/sb-bench-calls.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# three free UDP ports on loopback
ports=$(python3 -c '
import socket
ss=[socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
read -r PP UP CP <<<"$ports"

[ -x "$SB" ] || { echo "bench_calls: no server at $SB (run make first)" >&2; exit 2; }
"$SB" --listen "udp:127.0.0.1:$PP" --domain 127.0.0.1 --log-level warn 2>"$work/server.log" &
sbpid=$!
pids+=("$sbpid")
sleep 0.3
kill -0 "$sbpid" 2>/dev/null || { echo "bench_calls: server did not start:" >&2; cat "$work/server.log" >&2; exit 2; }

# bob registers from the callee's own port, then the callee takes the port
sipp -sf "$SCEN/register.xml" -key user bob -key contact_port "$UP" \
	-key contact_transport udp -key call_id "bench-reg-$$" -m 1 -p "$UP" \
	-i 127.0.0.1 -nostdin -timeout 10s "127.0.0.1:$PP" >/dev/null 2>&1 ||
	{ echo "bench_calls: REGISTER failed" >&2; exit 2; }
sipp -sf "$SCEN/uas.xml" -key user bob -p "$UP" -i 127.0.0.1 -nostdin \
	-timeout $((CALLS / RATE + 60))s -m "$CALLS" >/dev/null 2>&1 &
pids+=("$!")
sleep 0.3

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$sbpid/stat"; }
c0=$(cpu)
sipp -sf "$SCEN/uac.xml" -s bob -p "$CP" -i 127.0.0.1 -r "$RATE" -m "$CALLS" \
	-l $((RATE * 4)) -nostdin -timeout $((CALLS / RATE + 60))s \
	-trace_stat -stf "$work/uac.csv" "127.0.0.1:$PP" >/dev/null 2>&1
c1=$(cpu)
# the last line of SIPp's statistics file holds the cumulative counters
ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++){if($i=="SuccessfulCall(C)")s=i;if($i=="FailedCall(C)")f=i}} END{print $s}' "$work/uac.csv")
failed=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++){if($i=="SuccessfulCall(C)")s=i;if($i=="FailedCall(C)")f=i}} END{print $f}' "$work/uac.csv")
awk -v r="$RATE" -v ok="$ok" -v f="$failed" -v c0="$c0" -v c1="$c1" -v t="$ticks" 'BEGIN{
	cpu=(c1-c0)/t; per=(ok>0)?cpu*1000/ok:0;
	printf "rate %d calls/s: %d ok, %d failed; switchboard CPU %.2f s, %.3f s per 1000 calls\n", r, ok, f, cpu, per }'
[ "${failed:-1}" = 0 ] && [ "${ok:-0}" -gt 0 ]
