#!/usr/bin/env bash
# Installs the Debian packages xoshare needs to build, test and run its demo,
# only those that are missing. Used by `make deps` (and so by `make test` and `make demo`);
# `make bench` names the extra tools it compares against.
# Usage: scripts/ensure-packages.sh [EXTRA-PACKAGE ...]
set -euo pipefail
packages=(libarchive-dev libssl-dev libsqlite3-dev pkg-config sqlite3 zstd mandoc "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
