#!/usr/bin/env bash
# lab/load/account.sh: where each server's CPU per request goes under the
# same load (what `make -C lab account` runs). Loopback only; every process
# it starts is killed by its PID on exit. About 4 minutes with the defaults.
#
# The servers, each pinned to CPU 0 with wrk on CPU 1 at -c50, alternating
# for ROUNDS rounds of DURATION, new processes every round (as make load):
#   baret  bare gin with the service's server settings (the baseline)
#   warn   the service at LOG_LEVEL=warn (no access lines)
#   info   the service at LOG_LEVEL=info, the default (buffered access lines)
#   info0  the same with LOG_FLUSH_INTERVAL=0 ("unbuffered": a write(2) per line)
#   binfo  with BEFORE set: that git revision's service at LOG_LEVEL=info
#
# For each run it reads, from outside the process: CPU time (user, system)
# from /proc/PID/stat; system calls by kind and context switches from
# perf stat's tracepoints; allocations and GC cycles from the Go collector's
# /metrics (the service's admin listener, and baregin -admin); GC CPU from
# GODEBUG=gctrace=1; and a CPU profile from /debug/pprof/profile, which
# lab/load/account splits into categories (the medians' CPU per request
# times each category's share of the merged profiles).
#
# Settings (environment): DURATION (10s), ROUNDS (3), THREADS (2),
# CONNS (50), WARMUP (2s), PIN (1), BEFORE (a git revision).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
source lab/load/lib.sh
command -v perf >/dev/null || { echo "perf not found: apt-get install -y linux-perf" >&2; exit 1; }

echo "== build"
build_all
echo "== setup"
print_setup

sides=(baret warn info info0)
[ -z "${BEFORE:-}" ] || sides+=(binfo)
label() {
	case $1 in
	baret) echo "bare gin, same settings" ;;
	warn) echo "service, warn" ;;
	info) echo "service, info" ;;
	info0) echo "service, info, unbuffered" ;;
	binfo) echo "before, info" ;;
	esac
}
syscalls=(write read epoll_pwait futex nanosleep tgkill rt_sigreturn)
events="raw_syscalls:sys_enter,context-switches"
for s in "${syscalls[@]}"; do events+=",syscalls:sys_enter_$s"; done

# go_counters SIDE prints mallocs, allocated bytes and GC cycles so far.
go_counters() {
	curl -s "http://127.0.0.1:${admin[$1]}/metrics" | awk '
		/^go_memstats_mallocs_total / {m = $2} /^go_memstats_alloc_bytes_total / {b = $2}
		/^go_gc_duration_seconds_count / {g = $2} END {printf "%d %d %d\n", m, b, g}'
}
# gc_cpu_ms FILE FROM: the GC CPU (ms) of the gctrace lines of FILE after line FROM.
gc_cpu_ms() {
	tail -n +"$(($2 + 1))" "$1" | awk '/^gc [0-9]+ @/ {
		for (i = 1; i <= NF; i++) if ($i == "cpu,") { n = split($(i - 2), v, /[+\/]/); for (j = 1; j <= n; j++) t += v[j] }
	} END {printf "%.1f\n", t}'
}
# on_run PID, during each wrk run: perf stat and a CPU profile.
on_run() {
	local d=$(( $(secs "$DURATION") - 2 ))
	perf stat -x, -e "$events" -p "$1" -- sleep "$d" 2>"$work/perf-$cur.csv" >/dev/null &
	curl -s -o "$work/cpu-$cur.pprof" "http://127.0.0.1:${admin[$cur_side]}/debug/pprof/profile?seconds=$d"
	wait
}
ON_RUN=on_run
# perf covers DURATION - 2 s of a run: counts are scaled by that share of
# its requests.
span=$(awk -v d="$(secs "$DURATION")" 'BEGIN {print (d - 2) / d}')
perreq() { awk -v v="$1" -v n="$requests" -v f="${2:-1}" 'BEGIN {printf "%.2f", v / (n * f)}'; }
ev() { awk -F, -v e="$1" '$3 == e {print $1}' "$work/perf-$cur.csv"; }

declare -A all
echo
echo "== runs ($ROUNDS alternating rounds at -c$CONNS, new processes every round; perf and the profile cover the run but its first and last second)"
echo
echo "| round | server | req/s | CPU µs/req (user + sys) | syscalls/req | ctx switches/req | allocs/req | B/req | GC cycles/100k req | GC CPU µs/req |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$ROUNDS"); do
	GODEBUG=gctrace=1 start_sides
	for s in "${sides[@]}"; do
		cur="$s-$r" cur_side=$s
		read -r m0 b0 g0 < <(go_counters "$s")
		gl0=$(wc -l <"$work/${pidof[$s]}.err")
		load "$cur" "${url[$s]}" "$CONNS" "$DURATION" "${pidof[$s]}"
		read -r m1 b1 g1 < <(go_counters "$s")
		gcms=$(gc_cpu_ms "$work/${pidof[$s]}.err" "$gl0")
		sc=$(perreq "$(ev raw_syscalls:sys_enter)" "$span") cs=$(perreq "$(ev context-switches)" "$span")
		al=$(perreq $((m1 - m0))) by=$(perreq $((b1 - b0)) | awk '{printf "%.0f", $1}')
		gcs=$(awk -v g=$((g1 - g0)) -v n="$requests" 'BEGIN {printf "%.2f", g * 1e5 / n}')
		gcus=$(awk -v ms="$gcms" -v n="$requests" 'BEGIN {printf "%.2f", ms * 1000 / n}')
		all[$s.rps]+="$rps " all[$s.cpu]+="$cpu " all[$s.usr]+="$usr " all[$s.sys]+="$sys "
		all[$s.sc]+="$sc " all[$s.cs]+="$cs " all[$s.al]+="$al " all[$s.by]+="$by " all[$s.gcs]+="$gcs " all[$s.gcus]+="$gcus "
		for k in "${syscalls[@]}"; do all[$s.$k]+="$(perreq "$(ev "syscalls:sys_enter_$k")" "$span") "; done
		echo "| $r | $(label "$s")$(flag) | $(printf '%.0f' "$rps") | $cpu ($usr + $sys) | $sc | $cs | $al | $by | $gcs | $gcus |"
	done
	stop_sides
done

echo
echo "== medians over the $ROUNDS rounds, per request"
echo
row() { # row TITLE KEY
	local s line="| $1 |"
	for s in "${sides[@]}"; do line+=" $(median <<<"${all[$s.$2]}") |"; done
	echo "$line"
}
head="| per request |" sep="|---|"
for s in "${sides[@]}"; do head+=" $(label "$s") |" sep+="---:|"; done
echo "$head"; echo "$sep"
row "req/s" rps
row "CPU µs (from /proc)" cpu
row "user µs" usr
row "system µs" sys
row "system calls" sc
for k in "${syscalls[@]}"; do row "- $k" "$k"; done
row "context switches" cs
row "allocations" al
row "bytes allocated" by
row "GC cycles per 100k requests" gcs
row "GC CPU µs (gctrace)" gcus

echo
echo "== where the CPU goes: the merged CPU profiles of the $ROUNDS rounds, split by lab/load/account"
echo
args=()
for s in "${sides[@]}"; do
	bin=ginstarter
	case $s in baret) bin=baregin ;; binfo) bin=ginstarter-before ;; esac
	profiles=()
	for r in $(seq "$ROUNDS"); do profiles+=("$work/cpu-$s-$r.pprof"); done
	go tool pprof -traces "$work/$bin" "${profiles[@]}" >"$work/$s.traces" 2>/dev/null
	args+=("$(label "$s" | tr ' ' '_')=$work/$s.traces:$(median <<<"${all[$s.cpu]}")")
done
"$work/account" "${args[@]}" | sed 's/_/ /g'
echo
echo "== done"
echo "uptime:    $(uptime)"
