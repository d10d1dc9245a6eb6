#!/usr/bin/env bash
# Provisions one device on the fleet server's machine and prints how to install it.
# Usage: devices/provision.sh <device-id> <server-data-dir> <server-url> <trusted-key.pub> [profile] [tag...]
#   e.g. devices/provision.sh cam-1 /srv/edgeloop mqtt://10.0.0.5:1883 keys/release.pub raspberry-pi-4 lobby
# Writes <device-id>.json (the device's secret is in it: copy it to the device, then delete it here).
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,5p' "$0" >&2
  exit 2
fi
id=$1 dir=$2 url=$3 trust=$4 profile=${5:-raspberry-pi-4}
shift $(( $# < 5 ? $# : 5 ))
tags=()
for t in "$@"; do tags+=(--tag "$t"); done
root=$(cd "$(dirname "$0")/.." && pwd)
node "$root/packages/cli/bin/edgeloop.js" device provision "$id" -d "$dir" -o "$id.json" \
  --server-url "$url" --trust "$trust" --profile "$profile" "${tags[@]}"
chmod 600 "$id.json"
cat <<NEXT
Provisioned $id ($profile). On the device, as root:
  install -D -m 0640 -o root -g edgeloop $id.json /etc/edgeloop/device.json
  cp /opt/edgeloop/devices/systemd/edgeloop-device.service /etc/systemd/system/
  systemctl daemon-reload && systemctl enable --now edgeloop-device
Then delete $id.json here: it holds the device's password.
NEXT
