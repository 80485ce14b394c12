# bench/plot.gp: CPU per call against call rate, switchboard, Kamailio and
# the floor relay (bench/floor_relay.c: the kernel's share, no SIP)
# (bench/bench.sh writes the data and calls this):
#   gnuplot -e "datafile='cpu_per_call.dat'; outfile='bench/cpu_per_call.png'" bench/plot.gp
# datafile columns: rate, switchboard ms per call, Kamailio ms per call
# (NaN where the proxy did not run at that rate), switchboard passed,
# Kamailio passed (yes/no; a failing run is drawn as an open marker, when
# anyfail is set to non-zero), floor relay ms per call, floor passed.
if (!exists("datafile")) datafile = 'cpu_per_call.dat'
if (!exists("outfile")) outfile = 'cpu_per_call.png'
if (!exists("subtitle")) subtitle = ''
if (!exists("anyfail")) anyfail = 1

set terminal pngcairo size 900,560 font "sans,11"
set output outfile
set title "CPU per call through the proxy (user + system, all its processes)\n{/*0.8 ".subtitle."}"
set xlabel "call rate (calls/s)"
set ylabel "CPU ms per call (= CPU s per 1000 calls)"
set logscale x 2
set xrange [*:*] noextend
set offsets graph 0.04, graph 0.04, 0, 0
set xtics nomirror         # the tics are the rates of the data (xtic(1))
unset x2tics
set yrange [0:*]
set grid ytics xtics lc rgb "#dddddd"
set key top right box opaque
set datafile missing "NaN"

failed(v, ok) = (strcol(ok) eq "yes") ? NaN : v

if (!anyfail) {
plot datafile using 1:2:xtic(1) with linespoints lw 2 pt 7 ps 1.3 lc rgb "#1f77b4" title "switchboard", \
     datafile using 1:3 with linespoints lw 2 pt 5 ps 1.3 lc rgb "#d62728" title "Kamailio (-n 1)", \
     datafile using 1:6 with linespoints lw 2 dt 2 pt 9 ps 1.3 lc rgb "#555555" title "floor relay (kernel only, no SIP)"
} else {
plot datafile using 1:2:xtic(1) with linespoints lw 2 pt 7 ps 1.3 lc rgb "#1f77b4" title "switchboard", \
     datafile using 1:3 with linespoints lw 2 pt 5 ps 1.3 lc rgb "#d62728" title "Kamailio (-n 1)", \
     datafile using 1:6 with linespoints lw 2 dt 2 pt 9 ps 1.3 lc rgb "#555555" title "floor relay (kernel only, no SIP)", \
     datafile using 1:(failed($2, 4)) with points pt 6 ps 2.5 lc rgb "#1f77b4" title "switchboard: calls failed", \
     datafile using 1:(failed($3, 5)) with points pt 4 ps 2.5 lc rgb "#d62728" title "Kamailio: calls failed", \
     datafile using 1:(failed($6, 7)) with points pt 8 ps 2.5 lc rgb "#555555" title "floor relay: calls failed"
}
