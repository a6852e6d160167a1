#!/usr/bin/env bash
# Installs the Debian packages the tests and the lab use, only when something is missing.
set -euo pipefail
say() { printf '[prereqs] %s\n' "$*" >&2; }

need_pkgs=()
check() { # check <command> <debian package>
  command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2")
}
check openssl openssl
# The lab network (network namespaces, veths, bridge), the kube-proxy stand-in and the traffic tests.
check ip iproute2
check nft nftables
check ping iputils-ping
check arping arping
check curl curl
check ndisc6 ndisc6
# BGP interop tests and `lab up --router`: the routers the speaker peers with.
check bird bird2                 # BIRD 2 (bird, birdc)
check gobgpd gobgpd              # GoBGP (gobgpd, gobgp CLI)
[ -x /usr/lib/frr/bgpd ] || need_pkgs+=(frr)   # FRR (zebra, bgpd, bfdd, vtysh); daemons run as user frr
# OVSDB client tests (src/ovsdb): a real ovsdb-server plus ovs-vsctl/ovsdb-tool; no ovs-vswitchd or kernel module needed.
check ovsdb-server openvswitch-switch

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing: ${need_pkgs[*]}; run as root or install them: apt-get install -y ${need_pkgs[*]}"
    exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  # Package postinst scripts must not start daemons (FRR, BIRD) on the host: the tests start
  # their own inside namespaces. A policy-rc.d that exits 101 makes invoke-rc.d refuse; add a
  # temporary one only when the system has none.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 || rc=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { say "apt-get install failed ($rc)"; exit "$rc"; }
fi
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  say "Go >= 1.26 is needed to build the Kubernetes test binaries (kube-apiserver, etcd) from the Go module proxy; install it (e.g. from go.dev) and put it on PATH"
  exit 1
}
say "prerequisites present"
