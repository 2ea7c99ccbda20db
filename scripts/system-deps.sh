#!/bin/sh
# Installs the Debian packages carevisits needs, only those missing (quiet and quick when
# nothing is). Arguments: what to check, any of
#   font      a CJK TrueType font, for printing (`make run`, `make test`)
#   chromium  driven by Playwright in the browser tests (`make test`)
#   nginx     `nginx -t` of deploy/nginx/carevisits.conf in the tests (`make test`)
#   systemd   `systemd-analyze verify` of the units in deploy/ in the tests (`make test`)
#   wrk       the load generator of bench/door_load.py (it asks for it itself)
# none: font, chromium, nginx and systemd.
set -e
missing=""
for need in ${*:-font chromium nginx systemd}; do
  case "$need" in
    font) fc-list 2>/dev/null | grep -qi "wqy\|cjk\|simsun\|simhei\|msyh" \
            || missing="$missing fonts-wqy-microhei" ;;
    chromium) [ -x /usr/bin/chromium ] || missing="$missing chromium" ;;
    nginx) [ -x /usr/sbin/nginx ] || missing="$missing nginx-light" ;;
    systemd) command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd" ;;
    wrk) command -v wrk >/dev/null 2>&1 || missing="$missing wrk" ;;
    *) echo "system-deps.sh: unknown need '$need' (font, chromium, nginx, systemd, wrk)" >&2
       exit 2 ;;
  esac
done
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
