#!/usr/bin/env bash
# Installs what funad needs to build, test and run on Debian bookworm (or newer).
# Uses sudo when not run as root. Safe to run again: apt skips what is installed.
set -eu
packages=(
  gcc libc6-dev meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libopenblas-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  clang-14 libclang-rt-14-dev    # tools/run-tests.sh: sanitizer, fuzzer and TSan builds
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: everything is installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup-debian: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
