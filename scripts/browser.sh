#!/usr/bin/env bash
# Install Debian's headless Chromium for the browser tests when it is missing.
# Playwright drives it (executable_path=/usr/bin/chromium); its own browser download is not used.
set -eu
chrome="${RECOMIND_TEST_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chrome" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: $chrome is missing; install Chromium (e.g. apt-get install chromium) for the browser tests" >&2
  exit 0
fi
echo "browser: installing chromium from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
