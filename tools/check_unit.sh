#!/usr/bin/env bash
# Lints systemd/livegate.service with `systemd-analyze verify` (what CI runs). The unit's
# ExecStart names /usr/bin/livegate, where the .deb installs it; here it is pointed at the
# freshly built binary (argument 1) so verify can check it is executable. Any output
# (unknown keys, bad values) fails: systemd-analyze itself exits 0 on mere warnings.
set -euo pipefail
bin="$(realpath "${1:?usage: tools/check_unit.sh PATH_TO_BUILT_LIVEGATE}")"
top="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/livegate#$bin#" "$top/systemd/livegate.service" > "$tmp/livegate.service"
out="$(systemd-analyze verify "$tmp/livegate.service" 2>&1)" || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify reported:"; echo "$out"; exit 1
fi
echo "systemd/livegate.service: systemd-analyze verify clean"
