// Manifests of the lab's test workloads: an agnhost-netexec Deployment (the lab's kubelet stand-in
// serves HTTP on --http-port, answering with pod, node and client address) and a LoadBalancer
// Service for it. One place for the e2e tests and the benches.

export interface DeploymentOptions {
  readonly replicas: number;
  /** netexec --http-port, the container port the Service targets. */
  readonly port: number;
  readonly namespace?: string;
  /** One pod per node while replicas <= nodes, so externalTrafficPolicy Local has a pod on each. */
  readonly spreadOverNodes?: boolean;
}

export function agnhostDeployment(name: string, o: DeploymentOptions): string {
  const spread = o.spreadOverNodes
    ? `      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: ${name}}}}
`
    : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${o.namespace ?? 'default'}}
spec:
  replicas: ${o.replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${spread}      containers:
      - name: web
        image: registry.k8s.io/e2e-test-images/agnhost:2.47
        args: [netexec, --http-port, "${o.port}"]
`;
}

export interface LoadBalancerOptions {
  /** The `app` label of the pods. */
  readonly app: string;
  readonly targetPort: number;
  readonly port?: number;
  readonly namespace?: string;
  /** Single-stack family; default: the cluster's default. */
  readonly family?: 'IPv4' | 'IPv6';
  readonly local?: boolean;
  /** metallb.io/address-pool */
  readonly pool?: string;
}

export function loadBalancerService(name: string, o: LoadBalancerOptions): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${o.namespace ?? 'default'}
${o.pool ? `  annotations: {metallb.io/address-pool: ${o.pool}}\n` : ''}spec:
  type: LoadBalancer
  selector: {app: ${o.app}}
${o.family ? `  ipFamilies: [${o.family}]\n  ipFamilyPolicy: SingleStack\n` : ''}${o.local ? '  externalTrafficPolicy: Local\n' : ''}  ports:
  - {port: ${o.port ?? 80}, targetPort: ${o.targetPort}, protocol: TCP}
`;
}
