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

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing: ${need_pkgs[*]}; run as root or install them: apt-get install -y ${need_pkgs[*]}"
    exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2
fi
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  say "Go >= 1.26 is needed to build the Kubernetes test binaries (kube-apiserver, etcd) from the Go module proxy; install it (e.g. from go.dev) and put it on PATH"
  exit 1
}
say "prerequisites present"
