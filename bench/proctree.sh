# bench/proctree.sh: the CPU a proxy spent, over its process tree, for
# bench.sh and bench_calls.sh (sourced, not run).  Kamailio's main process
# forks its workers and timers; switchboard and the floor relay are one
# process.

# the pid given and all its descendants, one per line (Kamailio's main
# process forks its workers and timers; switchboard is one process)
tree_pids() {
	local root=$1
	ps -e -o pid= -o ppid= | awk -v root="$root" '
		{ parent[$1] = $2; all[NR] = $1 }
		END {
			keep[root] = 1; grew = 1
			while (grew) { grew = 0
				for (i in all) { p = all[i]
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 } } }
			for (p in keep) print p }'
}

# user and system time in clock ticks of the process tree under $1 (utime +
# cutime, stime + cstime), and the count of its processes; the children's
# times too, so a worker that exits and is reaped inside the tree still
# counts (a live process's time is in no one's cutime, so nothing counts
# twice)
tree_cpu() {
	local u=0 s=0 n=0 p f
	for p in $(tree_pids "$1"); do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		f=${f##*) }     # the fields after "(comm) ", comm may hold spaces
		set -- $f       # $1 is field 3 (state): utime is field 14 = $12
		u=$((u + ${12} + ${14}))
		s=$((s + ${13} + ${15}))
		n=$((n + 1))
	done
	echo "$u $s $n"
}
