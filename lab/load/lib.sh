# lib.sh: what run.sh (make load) and account.sh (make account) share:
# starting and stopping the servers, wrk runs with the server's CPU time
# read from /proc, and the arithmetic of the tables. Sourced from the
# repository root. Every process started here is killed by its PID on exit.

# The settings both scripts share (environment), with their defaults.
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
WARMUP=${WARMUP:-2s}
PIN=${PIN:-1}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

work=$(mktemp -d)
pids=()
worktree=""
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -z "$worktree" ] || git worktree remove --force "$worktree" >/dev/null 2>&1 || true
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
hz=$(getconf CLK_TCK)

secs() { local d=$1; d=${d%s}; echo "$d"; }
timeout_for() { echo $(( $(secs "$1") + 30 )); }

# build_all builds the service, the bare gin baseline and the scrape tool
# into $work; with BEFORE set (a git revision), also that revision's service
# as $work/ginstarter-before, from a temporary worktree.
build_all() {
	CGO_ENABLED=0 go build -trimpath -o "$work/ginstarter" .
	(cd lab/load && CGO_ENABLED=0 go build -trimpath -o "$work/baregin" ./baregin &&
		CGO_ENABLED=0 go build -trimpath -o "$work/scrape" ./scrape &&
		CGO_ENABLED=0 go build -trimpath -o "$work/account" ./account)
	if [ -n "${BEFORE:-}" ]; then
		worktree="$work/before-tree"
		git worktree add --detach "$worktree" "$BEFORE" >/dev/null
		(cd "$worktree" && CGO_ENABLED=0 go build -trimpath -o "$work/ginstarter-before" .)
		git worktree remove --force "$worktree"
		worktree=""
	fi
}

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

# start_service BINARY LOG_LEVEL PORT ADMIN_PORT [VAR=value...]: starts the
# service (pprof on its admin port), sets $pid; stderr goes to
# $work/<pid>.err.
start_service() {
	local bin=$1 level=$2 port=$3 admin=$4
	shift 4
	env HTTP_ADDR="127.0.0.1:$port" ADMIN_ADDR="127.0.0.1:$admin" LOG_LEVEL="$level" LOG_FORMAT=json \
		SHUTDOWN_DRAIN_DELAY=10ms SHUTDOWN_TIMEOUT=2s PPROF_ENABLED=true "$@" \
		"${srv_pin[@]}" "$work/$bin" >"$work/service-$level-$port.log" 2>"$work/$port.err" &
	pid=$!
	pids+=("$pid")
	ln -sf "$work/$port.err" "$work/$pid.err"
	wait_up "http://127.0.0.1:$admin/healthz"
}

# start_bare PORT ADMIN_PORT [FLAG...]: starts the bare gin server, sets
# $pid.
start_bare() {
	local port=$1 admin=$2
	shift 2
	"${srv_pin[@]}" "$work/baregin" -addr "127.0.0.1:$port" -admin "127.0.0.1:$admin" "$@" \
		>"$work/bare-$port.log" 2>"$work/$port.err" &
	pid=$!
	pids+=("$pid")
	ln -sf "$work/$port.err" "$work/$pid.err"
	wait_up "http://127.0.0.1:$port/v1/items/none"
}

# start_side SIDE PORT ADMIN_PORT: starts the server SIDE names, sets $pid:
#   bare            bare gin (net/http's zero-value server)
#   baret, ctl      bare gin with the service's server settings (ctl: a second
#                   process of it, the control)
#   chainN          the same with baregin -middleware ${chainof[chainN]}
#   warn, info      the service at that LOG_LEVEL
#   info0           the service at info with LOG_FLUSH_INTERVAL=0
#   bwarn, binfo    BEFORE's service at warn, at info
start_side() {
	local p=$2 a=$3
	case $1 in
	bare) start_bare "$p" "$a" ;;
	baret | ctl) start_bare "$p" "$a" -timeouts ;;
	chain*) start_bare "$p" "$a" -timeouts -middleware "${chainof[$1]}" ;;
	warn | info) start_service ginstarter "$1" "$p" "$a" ;;
	info0) start_service ginstarter info "$p" "$a" LOG_FLUSH_INTERVAL=0 ;;
	bwarn) start_service ginstarter-before warn "$p" "$a" ;;
	binfo) start_service ginstarter-before info "$p" "$a" ;;
	*) echo "start_side: unknown side $1" >&2; return 1 ;;
	esac
}

# start_sides starts the server of every side in the caller's $sides on new
# ports, creates its item and warms it; stop_sides stops them.
declare -A port admin pidof url
start_sides() {
	local s
	for s in "${sides[@]}"; do
		port[$s]=$(free_port) admin[$s]=$(free_port)
		start_side "$s" "${port[$s]}" "${admin[$s]}"
		pidof[$s]=$pid
		url[$s]=$(item_url "http://127.0.0.1:${port[$s]}")
	done
	for s in "${sides[@]}"; do warm "${url[$s]}" "$CONNS"; done
}
stop_sides() {
	local s
	for s in "${sides[@]}"; do stop "${pidof[$s]}"; done
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
# second before the end, and sets requests, rps, p50 p99 (µs), non2xx,
# errors, rss (kB), cpu (CPU time of PID per request during the run, µs),
# usr and sys (its user and kernel parts) and idle (idle share of CPU 0 and
# CPU 1 during the run: what neither side nor anything else on the machine
# used). With ON_RUN set, it is run (with PID) while wrk runs.
load() {
	local name=$1 url=$2 conns=$3 dur=$4 pid=$5 out="$work/wrk-$1.txt" wpid line t0 t1 s0 s1 hook=""
	t0=$(cpu_ticks "$pid") s0=$(cpu_snap)
	timeout "$(timeout_for "$dur")" "${wrk_pin[@]}" wrk -t"$THREADS" -c"$conns" -d"$dur" \
		--timeout 5s --latency -s lab/load/report.lua "$url" >"$out" 2>&1 &
	wpid=$!
	if [ -n "${ON_RUN:-}" ]; then "$ON_RUN" "$pid" & hook=$!; fi
	sleep $(( $(secs "$dur") - 1 ))
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	wait "$wpid" || { cat "$out" >&2; echo "wrk failed ($name)" >&2; return 1; }
	t1=$(cpu_ticks "$pid") s1=$(cpu_snap)
	[ -z "$hook" ] || wait "$hook"
	idle=$(awk -v a="$s0" -v b="$s1" 'BEGIN {
		split(a, x); split(b, y)
		printf "%.0f%% / %.0f%%", 100 * (y[2] - x[2]) / (y[1] - x[1]), 100 * (y[4] - x[4]) / (y[3] - x[3]) }')
	line=$(grep '^RESULT' "$out") || { cat "$out" >&2; return 1; }
	field() { sed "s/.* $1=\([0-9.]*\).*/\1/" <<<"$line"; }
	requests=$(field requests) rps=$(field rps) p50=$(field p50_us) p99=$(field p99_us)
	non2xx=$(field non2xx) errors=$(field errors)
	read -r usr sys cpu < <(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$requests" 'BEGIN {
		split(a, x); split(b, y); u = y[1] - x[1]; s = y[2] - x[2]
		printf "%.2f %.2f %.1f\n", u / hz * 1e6 / n, s / hz * 1e6 / n, (u + s) / hz * 1e6 / n }')
}

# cpu_snap prints total and idle (with iowait) jiffies of CPU 0 and CPU 1.
cpu_snap() {
	awk '/^cpu[01] / {t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t, $5 + $6}' /proc/stat
}

# cpu_ticks PID: user and system CPU time of PID, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

warm() { # warm URL CONNS
	timeout "$(timeout_for "$WARMUP")" "${wrk_pin[@]}" wrk -t"$THREADS" -c"$2" -d"$WARMUP" "$1" >/dev/null 2>&1
}

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }
busy() { awk -v c="$cpu" -v r="$rps" 'BEGIN {printf "%.0f%%", c * r / 1e4}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
flag() { [ "$non2xx" = 0 ] && [ "$errors" = 0 ] && echo "" || echo " (non-2xx $non2xx, socket errors $errors)"; }
# verdict VALUE OP LIMIT prints "met" or "NOT met".
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
	ok = (op == ">=") ? v >= l : v <= l; print ok ? "met" : "NOT met" }'; }

print_setup() {
	echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "uptime:    $(uptime)"
	echo "cpus:      $(nproc); pinning: $pinning"
	echo "clock:     $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	echo "go:        $(go version | awk '{print $3}'); wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
	echo "service:   $(git describe --always --dirty 2>/dev/null || echo unknown)${BEFORE:+; before: $BEFORE}"
	echo "wrk:       -t$THREADS --latency, $DURATION per run after a $WARMUP warm-up; GET /v1/items/:id (200)"
	echo "nofile:    $(ulimit -n)"
}
