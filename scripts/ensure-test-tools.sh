#!/usr/bin/env bash
# Installs the Debian programs the tests drive for real, when they are missing:
#   chromium                 headless browser for the UI tests (tests/ui)
#   prometheus               promtool, which checks the exported rule files
#   prometheus-alertmanager  a real Alertmanager to forward alerts to, and amtool
# Each test that needs one skips with a clear reason when this cannot install it.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${missing[*]} and cannot install here: the tests that need them will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -qq >/dev/null 2>&1 || true
for package in "${missing[@]}"; do
  # One at a time, so one that fails to install does not take the others down with it.
  timeout 900 apt-get install -y -qq "$package" >/dev/null 2>&1 ||
    echo "$package install failed: the tests that need it will skip" >&2
done
exit 0
