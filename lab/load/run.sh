#!/usr/bin/env bash
# lab/load/run.sh: load measurements of the service against a bare gin server
# with the same handler (what `make -C lab load` runs). Loopback only; every
# process it starts is killed by its PID on exit. About 12 minutes with the
# defaults, 17 with BEFORE.
#
#   1. throughput, latency and CPU per request at -c50, alternating bare gin,
#      bare gin with the service's server settings (timeouts, header limit),
#      the service at LOG_LEVEL=warn and at LOG_LEVEL=info (the default), for
#      ROUNDS rounds; ratios are taken per round, then the median;
#   2. the same at 10, 100 and 1000 connections (LOG_LEVEL=warn against bare
#      gin with the same settings), a fresh process of each per level,
#      LEVEL_ROUNDS rounds;
#   3. the cost of one /metrics scrape with 100 routes (lab/load/scrape).
#
# Settings (environment): DURATION (10s), ROUNDS (5), THREADS (2),
# CONNS (50), LEVELS ("10 100 1000"), LEVEL_ROUNDS (3), WARMUP (2s),
# FRESH (1: new processes for every round of phase 1; 0: the same ones),
# PIN (1: servers on CPU 0, wrk on CPU 1 when there are at least 2 CPUs),
# BEFORE (a git revision: its service joins phase 1 as "before", built from
# a temporary worktree, for before/after figures from the same run),
# CHAINS (values of baregin -middleware, each a server of its own in phase 1,
# e.g. CHAINS="metrics,recovery all": what each piece of the middleware
# costs under load, apart from the service's process).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-5}
LEVELS=${LEVELS-10 100 1000}
LEVEL_ROUNDS=${LEVEL_ROUNDS:-3}
source lab/load/lib.sh

echo "== build"
build_all

echo "== setup"
print_setup

# ctl is a second process of the baseline: its ratio to the baseline should
# be 1.00, and how far it strays is what the comparison cannot resolve.
sides=(bare baret warn info ctl)
[ -z "${BEFORE:-}" ] || sides+=(bwarn binfo)
# CHAINS: bare gin with the service's settings and engine settings, and the
# named pieces of its middleware (baregin -middleware), one side each.
declare -A chainof
i=0
for c in ${CHAINS:-}; do
	i=$((i + 1))
	chainof[chain$i]=$c
	sides+=("chain$i")
done
label() {
	case $1 in
	bare) echo "bare gin" ;;
	baret) echo "bare gin, the service's server settings" ;;
	warn) echo "service, LOG_LEVEL=warn" ;;
	info) echo "service, LOG_LEVEL=info (the default: an access line per request)" ;;
	ctl) echo "control: a second bare gin with the service's server settings" ;;
	chain*) echo "bare gin, the service's settings, middleware: ${chainof[$1]}" ;;
	bwarn) echo "before ($BEFORE), LOG_LEVEL=warn" ;;
	binfo) echo "before ($BEFORE), LOG_LEVEL=info" ;;
	esac
}

echo
echo "== 1. throughput at -c$CONNS, alternating, $ROUNDS rounds"
# stop_all stops the servers and counts the info server's access lines.
log_lines=0 log_bytes=0
stop_all() {
	local f="$work/service-info-${port[info]}.log"
	stop_sides
	log_lines=$((log_lines + $(wc -l <"$f"))) log_bytes=$((log_bytes + $(stat -c %s "$f")))
	rm -f "$f"
}
# With FRESH=1 (the default) every round starts new processes: a process
# keeps its own speed for its life (where its memory landed, its ports), a
# few percent either way, which only new processes average out.
FRESH=${FRESH:-1}
[ "$FRESH" = 1 ] || start_sides

declare -A all
echo
echo "| round | server | req/s | p50 ms | p99 ms | CPU µs/req (user + sys) | busy | idle CPU0 / CPU1 | req/s / bare+settings | CPU/req / bare+settings |"
echo "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|"
n=${#sides[@]}
for r in $(seq "$ROUNDS"); do
	[ "$FRESH" != 1 ] || start_sides
	declare -A round=()
	# Each round starts one place further along the list, so that no server
	# always follows the same one.
	for i in $(seq 0 $((n - 1))); do
		s=${sides[$(((i + r - 1) % n))]}
		load "$s-$r" "${url[$s]}" "$CONNS" "$DURATION" "${pidof[$s]}"
		round[$s.rps]=$rps round[$s.cpu]=$cpu
		all[$s.rps]+="$rps " all[$s.p50]+="$p50 " all[$s.p99]+="$p99 " all[$s.cpu]+="$cpu "
		all[$s.usr]+="$usr " all[$s.sys]+="$sys "
		echo "| $r | $(label "$s")$(flag) | $(printf '%.0f' "$rps") | $(ms "$p50") | $(ms "$p99") | $cpu ($usr + $sys) | $(busy) | $idle | - | - |"
	done
	# Ratios within the round, once every side has run.
	for s in "${sides[@]}"; do
		all[$s.ratio]+="$(ratio "${round[$s.rps]}" "${round[baret.rps]}") "
		all[$s.cpuratio]+="$(ratio "${round[$s.cpu]}" "${round[baret.cpu]}") "
		all[$s.vsbare]+="$(ratio "${round[$s.rps]}" "${round[bare.rps]}") "
	done
	all[info.minus]+="$(minus "${round[info.cpu]}" "${round[warn.cpu]}") "
	[ -z "${BEFORE:-}" ] || all[binfo.minus]+="$(minus "${round[binfo.cpu]}" "${round[bwarn.cpu]}") "
	[ "$FRESH" != 1 ] || stop_all
done
[ "$FRESH" = 1 ] || stop_all
echo
echo "Medians over the $ROUNDS rounds; each ratio is taken within a round, then the median of the rounds:"
echo
echo "| server | req/s | p50 ms | p99 ms | CPU µs/req | user | sys | req/s / bare | req/s / bare+settings | CPU/req / bare+settings | per-round req/s / bare+settings |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for s in "${sides[@]}"; do
	echo "| $(label "$s") | $(printf '%.0f' "$(median <<<"${all[$s.rps]}")") | $(ms "$(median <<<"${all[$s.p50]}")") |" \
		"$(ms "$(median <<<"${all[$s.p99]}")") | $(median <<<"${all[$s.cpu]}") | $(median <<<"${all[$s.usr]}") |" \
		"$(median <<<"${all[$s.sys]}") | $(median <<<"${all[$s.vsbare]}") | $(median <<<"${all[$s.ratio]}") |" \
		"$(median <<<"${all[$s.cpuratio]}") | ${all[$s.ratio]}|"
done
warn_ratio=$(median <<<"${all[warn.ratio]}") warn_cpu=$(median <<<"${all[warn.cpuratio]}")
info_minus=$(median <<<"${all[info.minus]}")
echo
echo "Access line (info - warn, CPU µs per request, per round): ${all[info.minus]}-> median $info_minus"
echo "Control (the second baseline process / the first, per round): req/s ${all[ctl.ratio]}-> median" \
	"$(median <<<"${all[ctl.ratio]}"); CPU/req ${all[ctl.cpuratio]}-> median $(median <<<"${all[ctl.cpuratio]}")"
[ -z "${BEFORE:-}" ] || echo "Before ($BEFORE), the same: ${all[binfo.minus]}-> median $(median <<<"${all[binfo.minus]}")"
echo
echo "Targets (medians of the per-round figures):"
echo "- LOG_LEVEL=info costs at most 2 µs CPU per request more than warn: $info_minus µs, $(verdict "$info_minus" "<=" 2)"
echo "- LOG_LEVEL=warn, throughput at least 0.97x bare gin with the same settings: $warn_ratio, $(verdict "$warn_ratio" ">=" 0.97)"
echo "- LOG_LEVEL=warn, CPU per request at most 1.05x bare gin with the same settings: $warn_cpu, $(verdict "$warn_cpu" "<=" 1.05)"
echo
echo "Access log of the info runs: $log_lines lines, $((log_bytes / 1000000)) MB."

if [ -n "$LEVELS" ]; then
	echo
	echo "== 2. concurrency (LOG_LEVEL=warn against bare gin with the same settings), $LEVEL_ROUNDS rounds per level"
	echo "   a fresh process of each server per level; VmRSS sampled 1 s before the end of each run,"
	echo "   connections still open; ratios are per round, then the median over rounds"
	echo
	echo "| connections | round | server | req/s | p50 ms | p99 ms | CPU µs/req | VmRSS MiB | req/s ratio | p99 ratio | CPU/req ratio | VmRSS ratio |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	declare -A lv
	for c in $LEVELS; do
		p=$(free_port); a=$(free_port); start_side baret "$p" "$a"; pid_b=$pid
		url_b=$(item_url "http://127.0.0.1:$p"); warm "$url_b" "$c"
		p=$(free_port); a=$(free_port); start_side warn "$p" "$a"; pid_s=$pid
		url_s=$(item_url "http://127.0.0.1:$p"); warm "$url_s" "$c"
		for r in $(seq "$LEVEL_ROUNDS"); do
			load "bare-c$c-$r" "$url_b" "$c" "$DURATION" "$pid_b"
			b_rps=$rps b_p99=$p99 b_cpu=$cpu b_rss=$rss
			lv[$c.bare.rps]+="$rps " lv[$c.bare.p50]+="$p50 " lv[$c.bare.p99]+="$p99 " lv[$c.bare.cpu]+="$cpu " lv[$c.bare.rss]+="$rss "
			echo "| $c | $r | bare gin, same settings$(flag) | $(printf '%.0f' "$rps") | $(ms "$p50") | $(ms "$p99") | $cpu | $(mib "$rss") | 1.00 | 1.00 | 1.00 | 1.00 |"
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
				name="bare gin, same settings" ratios="1.00 | 1.00 | 1.00 | 1.00"
			else
				name="service, LOG_LEVEL=warn"
				ratios="$(median <<<"${lv[$c.r.rps]}") | $(median <<<"${lv[$c.r.p99]}") | $(median <<<"${lv[$c.r.cpu]}") | $(median <<<"${lv[$c.r.rss]}")"
			fi
			echo "| $c | $name | $(printf '%.0f' "$(median <<<"${lv[$c.$side.rps]}")") | $(ms "$(median <<<"${lv[$c.$side.p50]}")") |" \
				"$(ms "$(median <<<"${lv[$c.$side.p99]}")") | $(median <<<"${lv[$c.$side.cpu]}") | $(mib "$(median <<<"${lv[$c.$side.rss]}")") | $ratios |"
		done
	done
	echo
	echo "Targets (medians of the per-round ratios):"
	for c in $LEVELS; do
		r=$(median <<<"${lv[$c.r.rps]}") q=$(median <<<"${lv[$c.r.p99]}")
		echo "- $c connections: throughput at least 0.95x: $r, $(verdict "$r" ">=" 0.95); p99 at most 1.1x: $q, $(verdict "$q" "<=" 1.1)"
	done
fi

echo
echo "== 3. one /metrics scrape with 100 routes x 9 methods x 6 statuses (in-process, lab/load/scrape)"
echo
"${srv_pin[@]}" timeout 120 "$work/scrape" -routes 100 -scrapes 20

echo
echo "== done"
echo "uptime:    $(uptime)"
