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

# go_modules: prints the directory of every Go module of the repository
# (every go.mod outside the directories that the go command ignores:
# testdata and names that start with . or _), run from the root.
go_modules() {
	find . -mindepth 1 \( -name testdata -o -name '[._]*' \) -prune -o -name go.mod -printf '%h\n' | LC_ALL=C sort
}
