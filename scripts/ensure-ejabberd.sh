#!/usr/bin/env bash
# Makes sure ejabberd (Debian package "ejabberd") and erl_call (package "erlang-base") are installed.
# Used by CI and the test suite when XMPP_SERVER=ejabberd. Installs them when missing and running as
# root; otherwise prints the command to run. The tests start private instances (scripts/ejabberd.ts),
# never the system one.
set -euo pipefail

if [ -x /usr/sbin/ejabberdctl ] && [ -x /usr/lib/erlang/bin/erl_call ]; then
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "ejabberd is not installed. Run: sudo apt-get update && sudo apt-get install -y ejabberd erlang-base" >&2
  exit 1
fi

echo "Installing ejabberd from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ejabberd erlang-base >/dev/null
# The package starts a system-wide instance (user ejabberd, machine-wide cookie and epmd); the tests
# run private ones on free ports instead.
(service ejabberd stop || true) >/dev/null 2>&1
(systemctl disable ejabberd || update-rc.d ejabberd disable || true) >/dev/null 2>&1
[ -x /usr/lib/erlang/bin/erl_call ]
