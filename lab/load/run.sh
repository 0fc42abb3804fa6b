#!/usr/bin/env bash
# lab/load/run.sh: load measurements of the service against a bare gin server
# with the same handler (what `make load` runs). Loopback only; every process
# it starts is killed on exit. About 9 minutes with the defaults.
#
#   1. throughput and latency at -c50, alternating bare gin / bare gin with
#      the service's server timeouts / service (LOG_LEVEL=warn) / service
#      (LOG_LEVEL=info) for ROUNDS rounds;
#   2. latency and resident memory at 10, 100 and 1000 connections, a fresh
#      process of each server per level, alternating for LEVEL_ROUNDS rounds;
#   3. the cost of one /metrics scrape with 100 routes (lab/load/scrape).
#
# Settings (environment): DURATION (10s), ROUNDS (5), THREADS (2),
# CONNS (50), LEVELS ("10 100 1000"), LEVEL_ROUNDS (3), WARMUP (2s),
# PIN (1: server on CPU 0, wrk on CPU 1 when there are at least 2 CPUs).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
LEVELS=${LEVELS:-10 100 1000}
LEVEL_ROUNDS=${LEVEL_ROUNDS:-3}
WARMUP=${WARMUP:-2s}
PIN=${PIN:-1}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wrk and the servers need a descriptor per connection (1000 and more).
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=65536
ulimit -n "$hard"

srv_pin=() wrk_pin=() pinning="none"
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	srv_pin=(taskset -c 0) wrk_pin=(taskset -c 1)
	pinning="servers on CPU 0 (Go sees GOMAXPROCS=1), wrk on CPU 1"
fi

secs() { local d=$1; d=${d%s}; echo "$d"; }
timeout_for() { echo $(( $(secs "$1") + 30 )); }

# free_port prints a loopback port nobody listens on.
free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 20000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
}

wait_up() { # wait_up URL
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "server at $1 did not come up" >&2
	return 1
}

# start_service LOG_LEVEL PORT ADMIN_PORT: starts the service, sets $pid.
start_service() {
	HTTP_ADDR=127.0.0.1:$2 ADMIN_ADDR=127.0.0.1:$3 LOG_LEVEL=$1 LOG_FORMAT=json \
		SHUTDOWN_DRAIN_DELAY=10ms SHUTDOWN_TIMEOUT=2s \
		"${srv_pin[@]}" "$work/ginstarter" >"$work/service-$1-$2.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_up "http://127.0.0.1:$3/healthz"
}

# start_bare PORT [FLAG...]: starts the bare gin server, sets $pid.
start_bare() {
	local port=$1
	shift
	"${srv_pin[@]}" "$work/baregin" -addr "127.0.0.1:$port" "$@" >"$work/bare-$port.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_up "http://127.0.0.1:$port/v1/items/none"
}

stop() { # stop PID
	local p keep=()
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# item_url BASE: creates an item with POST /v1/items and prints its URL,
# after checking that GET answers 200.
item_url() {
	local body id code
	body=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"name":"load"}' "$1/v1/items")
	id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' <<<"$body")
	[ -n "$id" ] || { echo "POST $1/v1/items: $body" >&2; return 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' "$1/v1/items/$id")
	[ "$code" = 200 ] || { echo "GET $1/v1/items/$id: $code" >&2; return 1; }
	echo "$1/v1/items/$id"
}

# load NAME URL CONNS DURATION PID: runs wrk, samples VmRSS of PID one
# second before the end, and sets rps p50 p99 (µs) non2xx errors rss (kB),
# cpu (CPU time of PID per request during the run, µs) and idle (idle share
# of CPU 0 and CPU 1 during the run: what neither side nor anything else
# on the machine used).
load() {
	local name=$1 url=$2 conns=$3 dur=$4 pid=$5 out="$work/wrk-$1.txt" wpid line t0 t1 s0 s1 requests
	t0=$(cpu_ticks "$pid") s0=$(cpu_snap)
	timeout "$(timeout_for "$dur")" "${wrk_pin[@]}" wrk -t"$THREADS" -c"$conns" -d"$dur" \
		--timeout 5s --latency -s lab/load/report.lua "$url" >"$out" 2>&1 &
	wpid=$!
	sleep $(( $(secs "$dur") - 1 ))
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	wait "$wpid" || { cat "$out" >&2; echo "wrk failed ($name)" >&2; return 1; }
	t1=$(cpu_ticks "$pid") s1=$(cpu_snap)
	idle=$(awk -v a="$s0" -v b="$s1" 'BEGIN {
		split(a, x); split(b, y)
		printf "%.0f%% / %.0f%%", 100 * (y[2] - x[2]) / (y[1] - x[1]), 100 * (y[4] - x[4]) / (y[3] - x[3]) }')
	line=$(grep '^RESULT' "$out") || { cat "$out" >&2; return 1; }
	field() { sed "s/.* $1=\([0-9.]*\).*/\1/" <<<"$line"; }
	requests=$(field requests) rps=$(field rps) p50=$(field p50_us) p99=$(field p99_us)
	non2xx=$(field non2xx) errors=$(field errors)
	cpu=$(awk -v t="$(( t1 - t0 ))" -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
}

# cpu_snap prints total and idle (with iowait) jiffies of CPU 0 and CPU 1.
cpu_snap() {
	awk '/^cpu[01] / {t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t, $5 + $6}' /proc/stat
}

# cpu_ticks PID: user + system CPU time of PID, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

warm() { # warm URL CONNS
	timeout "$(timeout_for "$WARMUP")" "${wrk_pin[@]}" wrk -t"$THREADS" -c"$2" -d"$WARMUP" "$1" >/dev/null 2>&1
}

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }
busy() { awk -v c="$cpu" -v r="$rps" 'BEGIN {printf "%.0f%%", c * r / 1e4}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# best_max and best_min print the largest and the smallest of the numbers
# on stdin: a shared machine's noise only ever slows a run down, so the
# best round is the least disturbed one.
best_max() { tr ' ' '\n' | grep . | sort -g | tail -1; }
best_min() { tr ' ' '\n' | grep . | sort -g | head -1; }
flag() { [ "$non2xx" = 0 ] && [ "$errors" = 0 ] && echo "" || echo " (non-2xx $non2xx, socket errors $errors)"; }

echo "== build"
CGO_ENABLED=0 go build -trimpath -o "$work/ginstarter" .
(cd lab/load && CGO_ENABLED=0 go build -trimpath -o "$work/baregin" ./baregin &&
	CGO_ENABLED=0 go build -trimpath -o "$work/scrape" ./scrape)

echo "== setup"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "uptime:    $(uptime)"
echo "cpus:      $(nproc); pinning: $pinning"
echo "go:        $(go version | awk '{print $3}'); wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "wrk:       -t$THREADS --latency, $DURATION per run after a $WARMUP warm-up; GET /v1/items/:id (200)"
echo "nofile:    $(ulimit -n)"

echo
echo "== 1. throughput at -c$CONNS: bare gin vs the service, alternating, $ROUNDS rounds"
bare_port=$(free_port); start_bare "$bare_port"; bare_pid=$pid
baret_port=$(free_port); start_bare "$baret_port" -timeouts; baret_pid=$pid
warn_port=$(free_port); warn_admin=$(free_port); start_service warn "$warn_port" "$warn_admin"; warn_pid=$pid
info_port=$(free_port); info_admin=$(free_port); start_service info "$info_port" "$info_admin"; info_pid=$pid
echo "service nofile: $(awk '/Max open files/ {print $4 " soft, " $5 " hard"}' "/proc/$warn_pid/limits")"
bare_url=$(item_url "http://127.0.0.1:$bare_port")
baret_url=$(item_url "http://127.0.0.1:$baret_port")
warn_url=$(item_url "http://127.0.0.1:$warn_port")
info_url=$(item_url "http://127.0.0.1:$info_port")
for u in "$bare_url" "$baret_url" "$warn_url" "$info_url"; do warm "$u" "$CONNS"; done

declare -A all
echo
echo "| round | server | req/s | p50 ms | p99 ms | server CPU µs/req | server busy | idle CPU0 / CPU1 | req/s ratio to bare | CPU/req ratio to bare |"
echo "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|"
for r in $(seq "$ROUNDS"); do
	for side in bare baret warn info; do
		case $side in
		bare) url=$bare_url pid=$bare_pid label="bare gin" ;;
		baret) url=$baret_url pid=$baret_pid label="bare gin + the service's server timeouts" ;;
		warn) url=$warn_url pid=$warn_pid label="service, LOG_LEVEL=warn" ;;
		info) url=$info_url pid=$info_pid label="service, LOG_LEVEL=info (access log)" ;;
		esac
		load "$side-$r" "$url" "$CONNS" "$DURATION" "$pid"
		[ "$side" = bare ] && bare_rps=$rps bare_cpu=$cpu
		all[$side.rps]+="$rps " all[$side.p50]+="$p50 " all[$side.p99]+="$p99 " all[$side.cpu]+="$cpu "
		all[$side.ratio]+="$(ratio "$rps" "$bare_rps") " all[$side.cpuratio]+="$(ratio "$cpu" "$bare_cpu") "
		echo "| $r | $label$(flag) | $(printf '%.0f' "$rps") | $(ms "$p50") | $(ms "$p99") | $cpu | $(busy) | $idle |" \
			"$(ratio "$rps" "$bare_rps") | $(ratio "$cpu" "$bare_cpu") |"
	done
done
echo
echo "Medians over the $ROUNDS rounds (ratios: median of the per-round ratios), and each server's"
echo "best round (the highest req/s, the lowest CPU µs/req) with the ratio of best to best:"
echo
echo "| server | req/s | p50 ms | p99 ms | server CPU µs/req | req/s ratio to bare | CPU/req ratio to bare | best req/s | best CPU µs/req | best req/s ratio | best CPU/req ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
best_bare_rps=$(best_max <<<"${all[bare.rps]}") best_bare_cpu=$(best_min <<<"${all[bare.cpu]}")
for side in bare baret warn info; do
	case $side in
	bare) label="bare gin" ;; baret) label="bare gin + server timeouts" ;; warn) label="service, LOG_LEVEL=warn" ;; info) label="service, LOG_LEVEL=info" ;;
	esac
	best_rps=$(best_max <<<"${all[$side.rps]}") best_cpu=$(best_min <<<"${all[$side.cpu]}")
	echo "| $label | $(printf '%.0f' "$(median <<<"${all[$side.rps]}")") | $(ms "$(median <<<"${all[$side.p50]}")") |" \
		"$(ms "$(median <<<"${all[$side.p99]}")") | $(median <<<"${all[$side.cpu]}") |" \
		"$(median <<<"${all[$side.ratio]}") | $(median <<<"${all[$side.cpuratio]}") |" \
		"$(printf '%.0f' "$best_rps") | $best_cpu | $(ratio "$best_rps" "$best_bare_rps") | $(ratio "$best_cpu" "$best_bare_cpu") |"
done
warn_ratio=$(median <<<"${all[warn.ratio]}")
warn_best=$(ratio "$(best_max <<<"${all[warn.rps]}")" "$best_bare_rps")
verdict() { awk -v r="$1" 'BEGIN {print (r >= 0.90) ? "met" : "NOT met"}'; }
echo
echo "Target (service >= 0.90 x bare gin throughput, LOG_LEVEL=warn): by the median of the per-round"
echo "ratios $(verdict "$warn_ratio") ($warn_ratio); by best round against best round $(verdict "$warn_best") ($warn_best)."
lines=$(wc -l <"$work/service-info-$info_port.log")
echo "Access log of the info run: $lines lines, $(du -h "$work/service-info-$info_port.log" | cut -f1)."
scrape_info=$(curl -s -o /dev/null -w '%{size_download} bytes in %{time_total} s' "http://127.0.0.1:$warn_admin/metrics")
echo "The service's own /metrics after this phase: $scrape_info."
stop "$bare_pid"; stop "$baret_pid"; stop "$warn_pid"; stop "$info_pid"

echo
echo "== 2. cost growth with concurrency (LOG_LEVEL=warn), $LEVEL_ROUNDS alternating rounds per level"
echo "   a fresh process of each server per level; VmRSS sampled 1 s before the end of each run,"
echo "   connections still open; ratios are per round, then the median over rounds"
echo
echo "| connections | round | server | req/s | p50 ms | p99 ms | CPU µs/req | VmRSS MiB | req/s ratio | p99 ratio | CPU/req ratio | VmRSS ratio |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A lv
for c in $LEVELS; do
	port=$(free_port); start_bare "$port"; pid_b=$pid
	url_b=$(item_url "http://127.0.0.1:$port"); warm "$url_b" "$c"
	port=$(free_port); admin=$(free_port); start_service warn "$port" "$admin"; pid_s=$pid
	url_s=$(item_url "http://127.0.0.1:$port"); warm "$url_s" "$c"
	for r in $(seq "$LEVEL_ROUNDS"); do
		load "bare-c$c-$r" "$url_b" "$c" "$DURATION" "$pid_b"
		b_rps=$rps b_p99=$p99 b_cpu=$cpu b_rss=$rss
		lv[$c.bare.rps]+="$rps " lv[$c.bare.p50]+="$p50 " lv[$c.bare.p99]+="$p99 " lv[$c.bare.cpu]+="$cpu " lv[$c.bare.rss]+="$rss "
		echo "| $c | $r | bare gin$(flag) | $(printf '%.0f' "$rps") | $(ms "$p50") | $(ms "$p99") | $cpu | $(mib "$rss") | 1.00 | 1.00 | 1.00 | 1.00 |"
		load "service-c$c-$r" "$url_s" "$c" "$DURATION" "$pid_s"
		lv[$c.svc.rps]+="$rps " lv[$c.svc.p50]+="$p50 " lv[$c.svc.p99]+="$p99 " lv[$c.svc.cpu]+="$cpu " lv[$c.svc.rss]+="$rss "
		lv[$c.r.rps]+="$(ratio "$rps" "$b_rps") " lv[$c.r.p99]+="$(ratio "$p99" "$b_p99") "
		lv[$c.r.cpu]+="$(ratio "$cpu" "$b_cpu") " lv[$c.r.rss]+="$(ratio "$rss" "$b_rss") "
		echo "| $c | $r | service$(flag) | $(printf '%.0f' "$rps") | $(ms "$p50") | $(ms "$p99") | $cpu | $(mib "$rss") |" \
			"$(ratio "$rps" "$b_rps") | $(ratio "$p99" "$b_p99") | $(ratio "$cpu" "$b_cpu") | $(ratio "$rss" "$b_rss") |"
	done
	stop "$pid_b"; stop "$pid_s"
done
echo
echo "Medians over the $LEVEL_ROUNDS rounds of each level:"
echo
echo "| connections | server | req/s | p50 ms | p99 ms | CPU µs/req | VmRSS MiB | req/s ratio | p99 ratio | CPU/req ratio | VmRSS ratio |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $LEVELS; do
	for side in bare svc; do
		if [ "$side" = bare ]; then
			label="bare gin" ratios="1.00 | 1.00 | 1.00 | 1.00"
		else
			label="service"
			ratios="$(median <<<"${lv[$c.r.rps]}") | $(median <<<"${lv[$c.r.p99]}") | $(median <<<"${lv[$c.r.cpu]}") | $(median <<<"${lv[$c.r.rss]}")"
		fi
		echo "| $c | $label | $(printf '%.0f' "$(median <<<"${lv[$c.$side.rps]}")") | $(ms "$(median <<<"${lv[$c.$side.p50]}")") |" \
			"$(ms "$(median <<<"${lv[$c.$side.p99]}")") | $(median <<<"${lv[$c.$side.cpu]}") | $(mib "$(median <<<"${lv[$c.$side.rss]}")") | $ratios |"
	done
done

echo
echo "== 3. one /metrics scrape with 100 routes x 9 methods x 6 statuses (in-process, lab/load/scrape)"
echo
"${srv_pin[@]}" timeout 120 "$work/scrape" -routes 100 -scrapes 20

echo
echo "== done"
echo "uptime:    $(uptime)"
