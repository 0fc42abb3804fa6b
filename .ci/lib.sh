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

# apt_install PACKAGE...: installs those of the Debian PACKAGEs that are not
# installed (a package removed with its configuration left behind counts as
# not installed), without questions. A machine stopped in the middle of an
# install leaves dpkg interrupted, and apt then refuses every install until
# `dpkg --configure -a` has run: each install attempt runs it first when
# dpkg's journal or audit shows such a state. The package lists are updated
# once per script; a lock held by another apt or dpkg is waited for up to 5
# minutes; a failed install is retried once.
apt_install() {
	local p missing=()
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${apt_lists_updated:-}" ]; then
		retry apt-get update -qq
		apt_lists_updated=1
	fi
	retry apt_get_install "${missing[@]}"
}

# apt_get_install PACKAGE...: one attempt of apt_install's, dpkg recovered first.
apt_get_install() {
	dpkg_recover && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$@" >/dev/null
}

# dpkg_recover: finishes an interrupted dpkg run (entries left in its journal,
# or packages that `dpkg --audit` reports as unpacked or half-configured),
# keeping the configuration files already on disk.
dpkg_recover() {
	local admin=${DPKG_ADMINDIR:-/var/lib/dpkg}
	if [ -n "$(ls -A "$admin/updates" 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
		echo "dpkg was interrupted on this machine: finishing it with dpkg --configure -a"
		dpkg --force-confdef --force-confold --configure -a
	fi
}

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
