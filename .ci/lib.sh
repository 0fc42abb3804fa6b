# shellcheck shell=bash
# Shell helpers for the .ci scripts, sourced after set -euo pipefail:
#   source "$(dirname "$0")/lib.sh"
# A top-level script sets STEP_MARK='==>' first; the scripts that it calls
# keep the default '-->', so that their steps read as sub-steps.

ci_start=$SECONDS

# step TEXT...: prints a step heading with the seconds since the script began.
step() { printf '\n%s [%ss] %s\n' "${STEP_MARK:--->}" "$((SECONDS - ci_start))" "$*"; }

# retry COMMAND...: runs COMMAND, and once more after 3 s if it fails (a
# download on a flaky network).
retry() { "$@" || { echo "retrying once: $*"; sleep 3; "$@"; }; }

# go_modules [DIR]: prints the directory of every Go module under DIR (default
# the root; every go.mod outside the directories that the go command ignores:
# testdata and names that start with . or _), run from the root.
go_modules() {
	local dir=${1:-.} skip=()
	# template-lab:begin
	# The template's lab lints and scans its own modules, in its own lane.
	[ "$dir" != . ] || skip=(-o -path ./lab)
	# template-lab:end
	find "$dir" -mindepth 1 \( -name testdata -o -name '[._]*' "${skip[@]}" \) -prune -o -name go.mod -printf '%h\n' |
		sed 's|^\./||' | LC_ALL=C sort
}

# has_packages DIR: whether the module in DIR (from the root) has Go packages
# of its own; a tools module holds only `tool` lines, to build a program
# from another module, and has nothing to lint or scan.
has_packages() {
	[ -n "$(cd "$1" && go list ./... 2>/dev/null)" ]
}

# CI_CACHE: where the scripts keep the tools they build (linter, vulnerability
# database, ...), outside the repository so that a fresh clone reuses them.
CI_CACHE=${CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ginstarter}
export CI_CACHE
