#!/bin/sh
# Installs the Debian packages the tests need, only when they are missing:
# chromium (driven by Playwright in the browser tests) and a CJK TrueType font.
set -e
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
fc-list 2>/dev/null | grep -qi "wqy\|cjk\|simsun\|simhei\|msyh" || missing="$missing fonts-wqy-microhei"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install:$missing (no apt-get here)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing$missing with apt-get" >&2
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $missing >/dev/null
}
