#!/usr/bin/env bash
# Installs Kube-OVN (release KUBE_OVN_VERSION, default v1.14.4) into the current kubectl context
# and turns on what seed 002 requires: kube-ovn-controller with --enable-ovn-lb-prefer-local=true
# and --ls-ct-skip-dst-lport-ips=false. Then applies the underlay objects (kind-configs/kube-ovn/
# underlay.yaml: ProviderNetwork on eth1, VLAN 341, Subnet 10.180.204.0/24 with
# enableExternalLBAddress and the MetalLB range in excludeIps).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${KUBE_OVN_VERSION:-v1.14.4}"
branch="release-$(echo "${version#v}" | cut -d. -f1,2)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "https://raw.githubusercontent.com/kubeovn/kube-ovn/${branch}/dist/images/install.sh" -o "$tmp/install.sh"
# The install script labels the master nodes; VERSION selects the images.
VERSION="$version" bash "$tmp/install.sh"

kubectl -n kube-system patch deployment kube-ovn-controller --type=json -p '[
  {"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--enable-ovn-lb-prefer-local=true"},
  {"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--ls-ct-skip-dst-lport-ips=false"}
]'
kubectl -n kube-system rollout status deployment/kube-ovn-controller --timeout=300s

kubectl apply -f "$here/underlay.yaml"
kubectl wait --for=condition=Ready subnet/underlay-subnet --timeout=120s || kubectl get subnet underlay-subnet -o yaml
