#!/bin/sh
# sbparse as a user meets it: the verdict line and exit status for a good, a
# broken and a dropped message, and a readable error for bad usage.
# Usage: test_sbparse.sh SBPARSE CORPUS_DIR
set -u
SBPARSE=$1
CORPUS=$2
pass=0
fail=0

# expect STATUS PATTERN ARGS...: run sbparse, check exit status and that the
# combined output contains PATTERN (a fixed string)
expect() {
	want_status=$1
	pattern=$2
	shift 2
	out=$("$SBPARSE" "$@" 2>&1)
	status=$?
	if [ "$status" -eq "$want_status" ] && printf '%s\n' "$out" | grep -qF -- "$pattern"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: sbparse $*: status $status (want $want_status), output:" >&2
		printf '%s\n' "$out" | tail -5 >&2
		echo "  wanted: $pattern" >&2
	fi
}

expect 0 "verdict: accept" "$CORPUS/wsinv.dat"
expect 0 "max-forwards   68" "$CORPUS/wsinv.dat"
expect 1 "verdict: 505 Version Not Supported" "$CORPUS/badvers.dat"
expect 1 "verdict: 400 Bad Request - Malformed CSeq" "$CORPUS/scalar02.dat"
expect 1 "verdict: 483 Too Many Hops" "$CORPUS/zeromf.dat"
expect 0 "verdict: accept" --role uas "$CORPUS/zeromf.dat"
expect 1 "unsupported: nothingSupportsThis" --role uas "$CORPUS/bext01.dat"
expect 1 "verdict: drop (not a SIP message)" "$CORPUS/bigcode.dat"
expect 1 "framing: cannot be framed" --stream "$CORPUS/ncl.dat"
expect 1 "framing: incomplete" --stream "$CORPUS/clerr.dat"
expect 2 "cannot open" "$CORPUS/no-such-file.dat"
expect 2 "unknown role 'bogus'" --role bogus "$CORPUS/wsinv.dat"
expect 2 "unknown option '--frobnicate'" --frobnicate
expect 2 "usage: sbparse"
printf 'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n' >"${TMPDIR:-/tmp}/sbparse-stdin.$$"
expect 0 "verdict: accept" - <"${TMPDIR:-/tmp}/sbparse-stdin.$$"
rm -f "${TMPDIR:-/tmp}/sbparse-stdin.$$"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
