#!/usr/bin/env bash
# The two set-up commands of the README, for a fresh Debian 12 or Raspberry Pi OS machine:
#   bash scripts/setup.sh simulate [hotline simulate options]   install, then run the box on simulated hardware
#   bash scripts/setup.sh test [pytest options]                 install, then run the whole test suite
# Each installs what it needs (apt packages through sudo when not root) and is safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
shift || true
case "$mode" in
  simulate|test) ;;
  *) echo "usage: bash scripts/setup.sh simulate|test [options]" >&2; exit 2 ;;
esac

# What the appliance needs at run time, and to build pyalsaaudio and systemd-python from source.
runtime_packages=(python3 python3-venv python3-dev gcc pkg-config libasound2-dev libsystemd-dev
                  espeak-ng sox libsox-fmt-all alsa-utils flac sqlite3)
# What only the tests need: a real browser, a reference DTMF decoder, unit and script checkers, and the
# HTTPS front end the installer sets up (tests/system/test_web_tls.py runs it on high ports), and the MQTT
# broker a fleet of boxes shares (tests/system/test_fleet*.py start one with TLS and passwords).
test_packages=(chromium shellcheck multimon-ng systemd nginx openssl mosquitto strace gettext)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

packages=("${runtime_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")
install_packages "${packages[@]}"

if [ ! -x .venv/bin/python ]; then
  echo "==> creating the virtual environment in .venv"
  python3 -m venv .venv
fi
echo "==> installing the appliance into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

if [ "$mode" = simulate ]; then
  exec .venv/bin/hotline simulate "$@"
fi
# Three workers on two cores: most tests wait on timers, ptys and subprocesses rather than compute. A test file
# stays on one worker (its module fixtures start one box, one browser). HOTLINE_TEST_WORKERS=0 runs serially.
exec .venv/bin/python -m pytest -n "${HOTLINE_TEST_WORKERS:-3}" --dist loadfile "$@"
