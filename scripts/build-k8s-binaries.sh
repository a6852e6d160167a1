#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the Go module proxy
# and caches them by version. Idempotent: a version whose binaries exist is not rebuilt.
# Why a wrapper module: k8s.io/kubernetes pins its staging modules at v0.0.0 with replace
# directives that only apply in the main module, so we re-point them at the published tags.
set -euo pipefail

K8S_VERSION="${IRONLB_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${IRONLB_ETCD_VERSION:-v3.6.16}"
CACHE="${IRONLB_CACHE:-$HOME/.cache/ironlb}"
K8S_DIR="$CACHE/k8s-$K8S_VERSION"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"

log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do [ -x "$g" ] && PATH="$(dirname "$g"):$PATH"; done
fi
command -v go >/dev/null 2>&1 || { log "Go is not installed: install Go >= 1.26 (it builds the test Kubernetes binaries)"; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

have_all() { local d="$1"; shift; for b in "$@"; do [ -x "$d/bin/$b" ] || return 1; done; }

build_etcd() {
  if have_all "$ETCD_DIR" etcd; then log "etcd $ETCD_VERSION cached at $ETCD_DIR/bin"; return; fi
  log "building etcd $ETCD_VERSION (about 2 minutes)"
  mkdir -p "$ETCD_DIR/src" "$ETCD_DIR/bin"; cd "$ETCD_DIR/src"
  [ -f go.mod ] || go mod init local.test/etcdbin >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$ETCD_DIR/bin/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$ETCD_DIR/bin/etcd.tmp" "$ETCD_DIR/bin/etcd"
  log "etcd built"
}

build_k8s() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if have_all "$K8S_DIR" "${bins[@]}"; then log "kubernetes $K8S_VERSION cached at $K8S_DIR/bin"; return; fi
  local stg="v0.${K8S_VERSION#v1.}" minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  log "building kubernetes $K8S_VERSION (cold: about 5 minutes on 2 cores; cached afterwards)"
  mkdir -p "$K8S_DIR/src" "$K8S_DIR/bin"; cd "$K8S_DIR/src"
  [ -f go.mod ] || go mod init local.test/k8sbin >/dev/null 2>&1
  log "downloading k8s.io/kubernetes@$K8S_VERSION go.mod"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  [ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
    go mod edit -replace "$m=$m@$stg"
  done
  # godebug defaults of the kubernetes module only apply in the main module
  local gd; gd=$(awk '$1=="godebug" {print $2}' "$gomod" | head -1)
  [ -n "$gd" ] && go mod edit -godebug "${gd}" 2>/dev/null || true
  log "resolving modules"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
         "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
         "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
         "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  for b in "${bins[@]}"; do
    if [ -x "$K8S_DIR/bin/$b" ]; then log "$b cached"; continue; fi
    log "compiling $b"
    local t0=$SECONDS
    go build -trimpath -ldflags "$ld" -o "$K8S_DIR/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
    mv "$K8S_DIR/bin/$b.tmp" "$K8S_DIR/bin/$b"
    log "$b built in $((SECONDS - t0)) s"
  done
}

build_etcd
build_k8s
echo "ETCD_BIN=$ETCD_DIR/bin"
echo "K8S_BIN=$K8S_DIR/bin"
