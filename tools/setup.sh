#!/usr/bin/env bash
# Installs what gaze needs on Debian 12 that a fresh machine lacks. Idempotent; silent when
# everything is already there. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libopenblas-openmp-dev libhdf5-dev zlib1g-dev libstb-dev nlohmann-json3-dev libgtest-dev
  libjpeg62-turbo-dev libspng-dev libisal-dev libwebp-dev
  clang-format python3 doxygen
  clang-14 libclang-rt-14-dev libomp-14-dev
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
