// The `ironlb` command line. Every subcommand has --help.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';

// Each command's module is loaded when it runs: the speaker process must not load client-node
// through the controller's or the lab's modules (about 70 MiB; src/k8s/rest.ts).
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    await (await load())(...args);
  };
}
const controllerCommand = () => import('./controllerCommand.js');
const speakerCommand = () => import('./speakerCommand.js');
const labCommand = () => import('./labCommand.js');

const program = new Command();
program
  .name('ironlb')
  .description('LoadBalancer Services for bare-metal Kubernetes (MetalLB-compatible API, Kube-OVN underlay aware)')
  .version(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version as string)
  .showHelpAfterError();

program
  .command('controller')
  .description('run the controller: assigns external IPs from IPAddressPools to LoadBalancer Services')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
  .option('--namespace <ns>', 'namespace of the configuration objects', 'metallb-system')
  .option('--lb-class <class>', 'only handle Services with this spec.loadBalancerClass (default: only Services without a class)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['all', 'debug', 'info', 'warn', 'error', 'none']).default('info'))
  .option('--metrics-port <port>', 'port of the Prometheus /metrics endpoint (0 disables)', '7472')
  .option('--metrics-host <host>', 'address the metrics endpoint binds', '127.0.0.1')
  .option('--ml-secret-name <name>', 'Secret with the speakers\' gossip key, created if missing ("" = do not create)', 'memberlist')
  .option('--webhook-port <port>', 'serve the validating admission webhook (HTTPS) on this port; the manifests use 9443 (0 disables)', '0')
  .option('--webhook-host <host>', 'address the webhook binds', '0.0.0.0')
  .option('--webhook-secret <name>', 'Secret holding the webhook CA and serving certificate (created and rotated unless --disable-cert-rotation)', 'metallb-webhook-cert')
  .option('--cert-service-name <name>', 'Service the API server calls the webhook through (the certificate names <name>.<namespace>.svc)', 'metallb-webhook-service')
  .option('--webhook-configuration <name>', 'ValidatingWebhookConfiguration whose caBundle is kept up to date', 'metallb-webhook-configuration')
  .option('--webhook-cert-ip <ip>', 'also name this IP in the serving certificate (repeat; e.g. 127.0.0.1 when the API server calls https://127.0.0.1)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--disable-cert-rotation', 'use the certificate in --webhook-secret as it is (managed by someone else); never write it or the caBundle')
  .option('--leader-elect', 'run only while holding the Lease --leader-elect-lease-name (for more than one replica); the manifests turn it on')
  .option('--leader-elect-lease-name <name>', 'Lease (in --namespace) the replicas compete for', 'ironlb-controller')
  .option('--leader-elect-lease-duration <seconds>', 'how long a standby waits after the last renewal it saw before taking over', '15')
  .option('--leader-elect-renew-deadline <seconds>', 'a leader that could not renew for this long exits', '10')
  .option('--leader-elect-retry-period <seconds>', 'interval between lease attempts', '2')
  .action(lazy(async () => (await controllerCommand()).runController));

program
  .command('speaker')
  .description('run the speaker of one node: answers ARP/NDP for the external IPs this node is elected to announce')
  .option('--node-name <name>', 'this node\'s name (default: $METALLB_NODE_NAME)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
  .option('--namespace <ns>', 'namespace of the configuration objects', 'metallb-system')
  .option('--lb-class <class>', 'only handle Services with this spec.loadBalancerClass')
  .addOption(new Option('--log-level <level>', 'log level').choices(['all', 'debug', 'info', 'warn', 'error', 'none']).default('info'))
  .option('--metrics-port <port>', 'port of the Prometheus /metrics endpoint (0 disables)', '7472')
  .option('--metrics-host <host>', 'address the metrics endpoint binds', '0.0.0.0')
  .option('--ignore-exclude-lb', 'announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers too')
  .option('--exclude-interfaces <regexes>', 'comma-separated interface name patterns never answered on (default: MetalLB\'s excludel2 list)')
  .option('--ml-bind-addr <ip>', 'address for the gossip (default: the node\'s InternalIP)')
  .option('--ml-bind-port <port>', 'UDP port of the gossip', '7946')
  .option('--ml-secret-name <name>', 'Secret holding the gossip key (key "secretkey"); without it liveness falls back to Node readiness', 'memberlist')
  .option('--no-partition-guard', 'answer even when cut off from every other speaker (MetalLB\'s behaviour: both sides of a gossip partition answer); see docs/membership.md')
  .option('--ovsdb <endpoint>', 'the node\'s Open vSwitch database, for Kube-OVN underlay VLAN interfaces (unix:PATH or tcp:HOST:PORT)', 'unix:/var/run/openvswitch/db.sock')
  .option('--underlay-verify-after <duration>', 'warn KubeOVNNotProgrammed when Kube-OVN has not annotated an announced underlay Service after this long (Go duration)', '30s')
  .action(lazy(async () => (await speakerCommand()).runSpeaker));

const lab = program
  .command('lab')
  .description('a real local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), nodes in network namespaces on one LAN, and ironlb running in it');
lab
  .command('up')
  .description('start the lab (idempotent: a second call reports the running lab)')
  .option('--dir <dir>', 'state directory (default: $IRONLB_LAB_DIR or <checkout>/.lab)')
  .option('--json', 'print one JSON object describing the lab (kubeconfig, kubectl, apiserver, ...)')
  .option('--no-controller', 'do not start ironlb controller')
  .option('--nodes <n>', 'nodes, each a network namespace on the lab LAN with a Node object, kubelet/kube-proxy stand-ins and a speaker (0 = control plane only, max 14)', '3')
  .option('--no-speakers', 'do not start ironlb speaker on the nodes')
  .addOption(new Option('--router <daemon>', 'add a router namespace (192.0.2.1) running this BGP daemon, peered passively with every node, and put the client behind it; also applies BGPPeer lab-router and a BGP pool 203.0.113.0/24').choices(['bird', 'frr', 'gobgp']))
  .option('--router-asn <asn>', 'the router\'s AS number (with --router; default 64512)', undefined)
  .option('--node-asn <asn>', 'the nodes\' AS number in BGPPeer lab-router and the router\'s config (with --router; equal to --router-asn = iBGP; default 64513)', undefined)
  .addOption(new Option('--scenario <name>', 'kube-ovn: user-space Open vSwitch on every node (br-provider, trunk NIC eth1, VLAN 341 internal port, Kube-OVN node labels and OVSDB contents), an OVS trunk in the switch, and clients on VLAN 341 and 342 (see docs/lab.md)').choices(['kube-ovn']))
  .action(lazy(async () => (await labCommand()).runLabUp));
lab
  .command('down')
  .description('stop every process the lab started and remove its state')
  .option('--dir <dir>', 'state directory')
  .action(lazy(async () => (await labCommand()).runLabDown));
lab
  .command('status')
  .description('show the lab and whether its processes are running')
  .option('--dir <dir>', 'state directory')
  .option('--json', 'print JSON')
  .action(lazy(async () => (await labCommand()).runLabStatus));
lab
  .command('demo')
  .description('lab up (Kube-OVN scenario: VLAN 341 through user-space Open vSwitch), then apply the seed-002 pool (10.180.204.250-254), Deployment and Service, print its EXTERNAL-IP and curl it from a client on VLAN 341')
  .option('--dir <dir>', 'state directory')
  .option('--nodes <n>', 'number of lab nodes', '3')
  .option('--scenario <name>', 'kube-ovn (client on VLAN 341) or lan (client on the plain LAN)', 'kube-ovn')
  .action(lazy(async () => (await labCommand()).runLabDemo));
lab
  .command('agent', { hidden: true })
  .description('kubelet and kube-proxy stand-in of one lab node (started by `lab up` inside the node namespace)')
  .requiredOption('--node-name <name>', 'the Node this agent is')
  .requiredOption('--kubeconfig <path>', 'kubeconfig reachable from inside the node namespace')
  .requiredOption('--state-dir <dir>', 'per-node directory (ready marker, pod logs)')
  .option('--host-ip <ip>', 'an address of the node (repeat: IPv4 then IPv6)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--pod-cidr <cidr>', 'a pod range of the node (repeat: IPv4 then IPv6)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--interface <name>', 'the node\'s LAN interface', 'eth0')
  .addOption(new Option('--log-level <level>', 'log level').choices(['all', 'debug', 'info', 'warn', 'error', 'none']).default('info'))
  .action(lazy(async () => (await labCommand()).runLabAgent));
lab
  .command('gobgp-routes', { hidden: true })
  .description('mirror a gobgpd RIB into the kernel table of this namespace as ECMP routes (proto bgp); run by `lab up --router gobgp`')
  .option('--api <host:port>', 'gobgpd gRPC API', '127.0.0.1:50051')
  .option('--interval-ms <ms>', 'poll interval', '500')
  .action(lazy(async () => (await labCommand()).runLabGobgpRoutes));
lab
  .command('tunnel', { hidden: true })
  .description('forward connections byte for byte: how node namespaces reach the API server (tcp:127.0.0.1:6443 -> unix socket -> API server)')
  .requiredOption('--listen <endpoint>', 'tcp:HOST:PORT or unix:PATH')
  .requiredOption('--connect <endpoint>', 'tcp:HOST:PORT or unix:PATH')
  .action(lazy(async () => (await labCommand()).runLabTunnel));

program
  .command('convert')
  .description('print the metallb.io CRs equivalent to a legacy MetalLB ConfigMap (a ConfigMap manifest or its raw `config` data)')
  .argument('[file]', 'input file (default: standard input)')
  .option('--namespace <ns>', 'namespace for the produced objects (default: the ConfigMap\'s, else metallb-system)')
  .action(lazy(async () => (await import('./convertCommand.js')).runConvert));

program
  .command('status')
  .description('why each LoadBalancer Service has (or has not) got an IP, and which node announces it (layer 2 interface, BGP peers)')
  .argument('[service]', 'one Service as namespace/name (default: all)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
  .option('--namespace <ns>', 'namespace of the ironlb/MetalLB objects', 'metallb-system')
  .option('--lb-class <class>', 'the controller\'s --lb-class, if it runs with one')
  .option('-o, --output <format>', 'table or json', 'table')
  .action(lazy(async () => (await import('./statusCommand.js')).runStatus));

await program.parseAsync(process.argv);
