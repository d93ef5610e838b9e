#!/usr/bin/env bash
# Makes sure the Prosody XMPP server (Debian package "prosody") is installed.
# Used by CI, the test suite and the demo. Installs it when missing and running as root;
# otherwise prints the command to run.
set -euo pipefail

if command -v prosody >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "Prosody is not installed. Run: sudo apt-get update && sudo apt-get install -y prosody" >&2
  exit 1
fi

echo "Installing Prosody from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prosody >/dev/null
# The package may start a system-wide instance; the tests run private ones on free ports instead.
(service prosody stop || true) >/dev/null 2>&1
command -v prosody >/dev/null
