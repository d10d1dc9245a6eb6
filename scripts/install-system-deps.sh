#!/usr/bin/env bash
# Installs the Debian packages the tests use, where they are missing:
#   python3-onnx      the ONNX project's checker (onnx.checker.check_model) for saved models
#   libonnx-testdata  the ONNX backend test corpus used by the IR round-trip test
#   mosquitto         a real external MQTT broker for the OTA tests (started by the tests, not as a service)
#   ffmpeg            video files, V4L2 cameras and RTSP streams as frame sources (runtime tests)
#   chromium          headless browser for the browser example's test (driven by playwright-core)
# Needs root (or sudo) and Debian's package archive; installs nothing that is already there.
set -euo pipefail

packages=(python3-onnx libonnx-testdata mosquitto ffmpeg chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-system-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "system packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
