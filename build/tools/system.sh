#!/usr/bin/env bash
# Installs the Debian packages the test world needs beyond Go and Node, where they are missing:
# each argument is COMMAND:PACKAGE (e.g. nft:nftables, the packet filter of the chaos suite's
# partition fault). As root with apt-get it installs them (apt-get update once if a package is not
# found); elsewhere it prints a notice and the tests that need the command skip with that notice.
#
# Usage: build/tools/system.sh COMMAND:PACKAGE...
set -uo pipefail

say() { printf 'tools: %s\n' "$*" >&2; }

missing=()
for pair in "$@"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  say "notice: ${missing[*]} not installed (needs root and apt-get); the tests that use them are skipped"
  exit 0
fi
say "apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q "${missing[@]}" >/dev/null ||
    say "notice: apt-get could not install ${missing[*]}; the tests that use them are skipped"
fi
exit 0
