#!/usr/bin/env bash
# The kind e2e provider: runs the lab's scenarios (e2e/scenarios/*) against a kind cluster on a
# machine with Docker. One scenario per cluster:
#
#   e2e/kind/run.sh layer2     kind-configs/three-nodes.yaml: seed 002's Deployment and Service
#                              (ETP Local) with a pool on the kind network, curl from a client
#                              container, client address preserved, ServiceL2Status present
#   e2e/kind/run.sh bgp        kind-configs/bgp.yaml + an FRR container (kind-configs/frr): the
#                              lab-router BGPPeer/pool (e2e/scenarios/lab-router), sessions from
#                              every node, ECMP route in FRR, HTTP through it
#   e2e/kind/run.sh kube-ovn   kind-configs/kube-ovn-underlay.yaml + Kube-OVN with the seed 002
#                              underlay (VLAN 341): the seed's pool, Deployment and Service
#                              verbatim, curl from a client on the VLAN
#
# Every scenario also converts the seed-003 legacy ConfigMap with `ironlb convert` and
# dry-runs the result on the cluster. Needs docker, kind, kubectl, node (npm ci done) and curl.
# Options: --keep (leave the cluster running), IMAGE=... (default ghcr.io/ironlb/ironlb:0.1.0),
# SKIP_BUILD=1 (image already loaded or pullable).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
scenario="${1:-}"
keep=false
[ "${2:-}" = "--keep" ] && keep=true
image="${IMAGE:-ghcr.io/ironlb/ironlb:0.1.0}"
ns="ironlb-e2e"
client="ironlb-kind-client"
frr="ironlb-kind-frr"
underlay_net="ironlb-underlay"

case "$scenario" in
  layer2) cluster=ironlb-l2; config="$root/kind-configs/three-nodes.yaml" ;;
  bgp) cluster=ironlb-bgp; config="$root/kind-configs/bgp.yaml" ;;
  kube-ovn) cluster=ironlb-kube-ovn; config="$root/kind-configs/kube-ovn-underlay.yaml" ;;
  *) echo "usage: $0 layer2|bgp|kube-ovn [--keep]" >&2; exit 2 ;;
esac

for tool in docker kind kubectl node curl; do
  command -v "$tool" >/dev/null || { echo "kind e2e: $tool is not installed" >&2; exit 2; }
done

log() { printf '[kind e2e %s] %s\n' "$scenario" "$*" >&2; }
fail() { log "FAIL: $*"; diagnostics; exit 1; }

diagnostics() {
  kubectl get nodes -o wide || true
  kubectl -n metallb-system get pods -o wide || true
  kubectl -n "$ns" get svc,pods -o wide || true
  kubectl -n metallb-system get ipaddresspools,servicel2statuses,servicebgpstatuses,configurationstates -o wide || true
  for p in $(kubectl -n metallb-system get pods -o name 2>/dev/null); do
    log "logs of $p"; kubectl -n metallb-system logs "$p" --tail=100 || true
  done
  if docker inspect "$frr" >/dev/null 2>&1; then docker exec "$frr" vtysh -c 'show bgp summary' || true; fi
}

cleanup() {
  $keep && { log "kept cluster $cluster (kind delete cluster --name $cluster)"; return; }
  docker rm -f "$client" "$frr" >/dev/null 2>&1 || true
  kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  docker network rm "$underlay_net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND every 2 s.
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 2
  done
}

# ------------------------------------------------------------------------------ cluster
log "creating cluster $cluster from ${config#"$root"/}"
if [ "$scenario" = kube-ovn ]; then
  kind create cluster --name "$cluster" --config "$config"
  docker network create --subnet 172.31.204.0/24 "$underlay_net" >/dev/null
  for node in $(kind get nodes --name "$cluster"); do docker network connect "$underlay_net" "$node"; done
  bash "$root/kind-configs/kube-ovn/install.sh"
else
  kind create cluster --name "$cluster" --config "$config" --wait 180s
fi
kubectl wait --for=condition=Ready nodes --all --timeout=300s
# kind labels the control plane exclude-from-external-load-balancers; MetalLB's e2e removes it too.
kubectl label nodes --all node.kubernetes.io/exclude-from-external-load-balancers- >/dev/null

# ------------------------------------------------------------------------------ ironlb
if [ "${SKIP_BUILD:-}" != 1 ]; then
  log "building $image"
  docker build -t "$image" "$root"
fi
kind load docker-image "$image" --name "$cluster"
node "$root/manifests/build.mjs" --check
kubectl apply --server-side -f "$root/manifests/ironlb-native.yaml"
kubectl -n metallb-system set image deployment/controller controller="$image" >/dev/null
kubectl -n metallb-system set image daemonset/speaker speaker="$image" >/dev/null
# The image runs as 65534 by default; a non-root speaker gets no capabilities from the pod spec.
if [ -z "$(kubectl -n metallb-system get daemonset speaker -o jsonpath='{.spec.template.spec.containers[0].securityContext.runAsUser}')" ]; then
  log "manifests/speaker.yaml sets no runAsUser: patching runAsUser: 0 (see README, Packaging)"
  kubectl -n metallb-system patch daemonset speaker --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/securityContext/runAsUser","value":0}]' >/dev/null
fi
kubectl -n metallb-system rollout status deployment/controller --timeout=180s || fail "controller not ready"
kubectl -n metallb-system rollout status daemonset/speaker --timeout=180s || fail "speakers not ready"

# ------------------------------------------------------------------------------ seed 003
log "seed 003: ironlb convert + server-side dry-run"
node "$root/bin/ironlb.js" convert "$root/e2e/scenarios/seed-003/configmap.yaml" \
  | kubectl apply --server-side --dry-run=server -f - >/dev/null || fail "converted seed-003 objects rejected"

# ------------------------------------------------------------------------------ scenario config
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
case "$scenario" in
  layer2)
    subnet="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -v : | head -n1)"
    base="${subnet%.*.*}" # kind's IPv4 network is a /16: use the top of it
    range="$base.255.200-$base.255.250"
    log "pool $range on the kind network $subnet"
    sed "s/10\.180\.204\.250-10\.180\.204\.254/$range/" "$root/e2e/scenarios/kube-ovn-seed/pool.yaml" | kubectl apply -f -
    docker run -d --name "$client" --network kind curlimages/curl:8.10.1 sleep infinity >/dev/null
    ;;
  bgp)
    subnet="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -v : | head -n1)"
    tmp="$(mktemp -d)"
    cp "$root/kind-configs/frr/daemons" "$root/kind-configs/frr/vtysh.conf" "$tmp/"
    sed "s#KIND_SUBNET#$subnet#" "$root/kind-configs/frr/frr.conf" > "$tmp/frr.conf"
    docker run -d --name "$frr" --network kind --privileged -v "$tmp:/etc/frr" quay.io/frrouting/frr:8.4.4 >/dev/null
    frr_ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$frr")"
    log "FRR at $frr_ip (AS 64512) listening for $subnet"
    sed "s/192\.0\.2\.1/$frr_ip/" "$root/e2e/scenarios/lab-router/bgp.yaml" | kubectl apply -f -
    ;;
  kube-ovn)
    kubectl apply -f "$root/e2e/scenarios/kube-ovn-seed/pool.yaml"
    docker run -d --name "$client" --network "$underlay_net" --cap-add NET_ADMIN nicolaka/netshoot:v0.13 sleep infinity >/dev/null
    docker exec "$client" sh -c 'ip link add link eth0 name eth0.341 type vlan id 341 && ip addr add 10.180.204.100/24 dev eth0.341 && ip link set eth0.341 up'
    # Seed 002: MetalLB answers on the underlay's VLAN interface (underlay0.341 in the seed).
    # ironlb does not create it yet (issue 5), so it is created here on every node.
    for node in $(kind get nodes --name "$cluster"); do
      docker exec "$node" sh -c 'ip link show underlay0.341 >/dev/null 2>&1 || { ip link add link br-underlay0 name underlay0.341 type vlan id 341 && ip link set underlay0.341 up; }'
    done
    ;;
esac

# ------------------------------------------------------------------------------ workload
kubectl -n "$ns" apply -f "$root/e2e/scenarios/kube-ovn-seed/deployment.yaml"
kubectl -n "$ns" apply -f "$root/e2e/scenarios/kube-ovn-seed/service.yaml"
kubectl -n "$ns" rollout status deployment/deploy-169402624 --timeout=300s || fail "backend pods not ready"

external_ip() { kubectl -n "$ns" get svc nginx-lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
has_ip() { [ -n "$(external_ip)" ]; }
wait_for "an EXTERNAL-IP on $ns/nginx-lb" 120 has_ip
vip="$(external_ip)"
log "EXTERNAL-IP $vip"

case "$scenario" in
  layer2)
    has_l2_status() { [ -n "$(kubectl -n metallb-system get servicel2statuses -l metallb.io/service-name=nginx-lb -o name)" ]; }
    wait_for "a ServiceL2Status for nginx-lb" 60 has_l2_status
    served() { docker exec "$client" curl -fsS --max-time 3 "http://$vip/hostname" >/dev/null; }
    wait_for "HTTP through $vip" 60 served
    client_ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$client")"
    seen="$(docker exec "$client" curl -fsS --max-time 3 "http://$vip/clientip")"
    [ "${seen%:*}" = "$client_ip" ] || fail "the pod saw $seen, not the client $client_ip (externalTrafficPolicy: Local keeps it)"
    ;;
  bgp)
    nodes="$(kubectl get nodes -o name | wc -l)"
    sessions_up() { [ "$(docker exec "$frr" vtysh -c 'show bgp ipv4 unicast summary json' | grep -o '"state":"Established"' | wc -l)" -ge "$nodes" ]; }
    wait_for "$nodes established BGP sessions" 120 sessions_up
    routed() { docker exec "$frr" ip route show "$vip" | grep -q .; }
    wait_for "a route to $vip in FRR" 60 routed
    served() { docker exec "$frr" wget -q -O- -T 3 "http://$vip/hostname" >/dev/null; }
    wait_for "HTTP through $vip from the router" 60 served
    ;;
  kube-ovn)
    case "$vip" in 10.180.204.25[0-4]) ;; *) fail "EXTERNAL-IP $vip is outside the seed's pool 10.180.204.250-254" ;; esac
    served() { docker exec "$client" curl -fsS --max-time 3 "http://$vip/hostname" >/dev/null; }
    wait_for "HTTP through $vip on VLAN 341" 120 served
    seen="$(docker exec "$client" curl -fsS --max-time 3 "http://$vip/clientip")"
    [ "${seen%:*}" = 10.180.204.100 ] || fail "the pod saw $seen, not the client 10.180.204.100 (no SNAT expected)"
    ;;
esac

log "PASS (EXTERNAL-IP $vip)"
