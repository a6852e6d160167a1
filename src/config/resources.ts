// The raw input of config parsing: Kubernetes objects as read from the API server (or from YAML
// files), plus the cluster context some rules need.

export interface NodeInput {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface SecretInput {
  readonly name: string;
  readonly namespace: string;
  readonly type?: string;
  /** Values base64-encoded, as in the Secret's `data`. */
  readonly data?: Readonly<Record<string, string>>;
}

/** Raw Kubernetes objects (apiVersion/kind/metadata/spec), any served version (BGPPeer v1beta1 and v1beta2). */
export interface ConfigResources {
  pools: unknown[];
  l2Advertisements: unknown[];
  bgpAdvertisements: unknown[];
  bgpPeers: unknown[];
  bfdProfiles: unknown[];
  communities: unknown[];
  /** Optional context: nodes (name + labels) for node-selector rules, secrets for passwordSecret. */
  nodes?: NodeInput[];
  secrets?: SecretInput[]; // data base64
}

export function emptyResources(): ConfigResources {
  return { pools: [], l2Advertisements: [], bgpAdvertisements: [], bgpPeers: [], bfdProfiles: [], communities: [] };
}
