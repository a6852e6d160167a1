// Self-signed certificates for the webhook, built in-process: a minimal DER encoder for the few
// X.509 structures a CA and a TLS serving certificate need, signed with node:crypto (ECDSA
// P-256 with SHA-256). Why this and not openssl: node:crypto can verify and parse certificates
// but not issue them, openssl would make a CLI a runtime dependency of a non-root,
// read-only-root container, and no new npm dependency is allowed. P-256 keys are generated in
// ~1 ms (RSA-2048 takes ~100 ms) and every TLS stack (Go's API server included) accepts them.
// MetalLB's cert rotator (cert-controller) makes a CA and a serving certificate too; like it we
// keep both in one Secret.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { parseIp } from '../net/address.js';

// --- DER ---------------------------------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octetString = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));

/** A non-negative INTEGER from big-endian bytes (minimal, with a 0 byte when the top bit is set). */
function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if ((b[0] ?? 0) & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const groups: number[] = [];
    let v = p;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    groups.forEach((g, i) => out.push(i < groups.length - 1 ? g | 0x80 : g));
  }
  return tlv(0x06, Buffer.from(out));
}

/** BIT STRING of named bits (bit 0 = most significant bit of the first byte), DER-minimal. */
function namedBits(bits: readonly number[]): Buffer {
  const max = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  const unused = 7 - (max % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5), whole seconds. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

// --- X.509 -------------------------------------------------------------------------------------

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

const name = (cn: string) => seq(set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octetString(value));

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // For EC keys the BIT STRING is the last element: its content after the unused-bits byte is the point.
  const point = spki.subarray(spki.length - 65);
  return createHash('sha1').update(point).digest();
}

interface IssueSpec {
  readonly subject: string;
  readonly publicKey: KeyObject;
  readonly issuer: string;
  readonly issuerKey: KeyObject;
  readonly issuerPublicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

function issue(spec: IssueSpec): string {
  const extensions: Buffer[] = [
    extension(OID.basicConstraints, true, spec.ca ? seq(bool(true)) : seq()),
    // CA: keyCertSign(5) + cRLSign(6); server: digitalSignature(0), all ECDHE needs.
    extension(OID.keyUsage, true, spec.ca ? namedBits([5, 6]) : namedBits([0])),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.publicKey))),
  ];
  if (!spec.ca) {
    extensions.push(extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyIdentifier(spec.issuerPublicKey)))));
    extensions.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
    const names = [
      ...(spec.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
      ...(spec.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    // Go (the API server) ignores the CN: the names must be in subjectAltName.
    extensions.push(extension(OID.subjectAltName, false, seq(...names)));
  }
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, tlv(0x02, Buffer.from([2]))), // v3
    unsignedInteger(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.issuerKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

function ipBytes(ip: string): Buffer {
  const parsed = isIP(ip) ? parseIp(ip) : undefined;
  if (!parsed) throw new Error(`"${ip}" is not an IP address; pass IP addresses (not names) as certificate IP SANs`);
  const hex = parsed.value.toString(16).padStart(parsed.family === 4 ? 8 : 32, '0');
  return Buffer.from(hex, 'hex');
}

// --- What the webhook uses ---------------------------------------------------------------------

/** PEM texts, as stored in the Secret (keys ca.crt, ca.key, tls.crt, tls.key like cert-controller). */
export interface CertificateBundle {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export const CA_VALIDITY_MS = 10 * 365 * 24 * 3600_000;
export const SERVING_VALIDITY_MS = 365 * 24 * 3600_000;
/** Clock skew allowance: certificates are valid from one hour before they are made. */
const BACKDATE_MS = 3600_000;

function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const pemKey = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

export function newCertificateAuthority(now: Date, commonName = 'ironlb-webhook-ca'): Pick<CertificateBundle, 'caCert' | 'caKey'> {
  const { privateKey, publicKey } = newKeyPair();
  const caCert = issue({
    subject: commonName, issuer: commonName, publicKey, issuerKey: privateKey, issuerPublicKey: publicKey,
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + CA_VALIDITY_MS), ca: true,
  });
  return { caCert, caKey: pemKey(privateKey) };
}

/** A serving certificate for `names`, signed by the given CA. */
export function newServingCertificate(ca: Pick<CertificateBundle, 'caCert' | 'caKey'>, names: ServingNames, now: Date): CertificateBundle {
  const caKey = createPrivateKey(ca.caKey);
  const caX509 = new X509Certificate(ca.caCert);
  const { privateKey, publicKey } = newKeyPair();
  const cert = issue({
    subject: names.dnsNames[0] ?? names.ipAddresses[0] ?? 'ironlb-webhook',
    issuer: caX509.subject.replace(/^CN=/, ''),
    publicKey, issuerKey: caKey, issuerPublicKey: createPublicKey(caKey),
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + SERVING_VALIDITY_MS), ca: false,
    dnsNames: names.dnsNames, ipAddresses: names.ipAddresses,
  });
  return { ...ca, cert, key: pemKey(privateKey) };
}

/** Renew the serving certificate this long before it expires; the CA, this long before. */
export const SERVING_RENEW_BEFORE_MS = 30 * 24 * 3600_000;
export const CA_RENEW_BEFORE_MS = 90 * 24 * 3600_000;

export type CertificateAction = 'keep' | 'new-serving-cert' | 'new-ca';

/**
 * What to do with the bundle found in the Secret: keep it, issue a new serving certificate
 * (expiring, wrong names, not signed by the CA, unreadable), or start over with a new CA.
 */
export function certificateAction(bundle: Partial<CertificateBundle>, names: ServingNames, now: Date): CertificateAction {
  let ca: X509Certificate;
  try {
    if (!bundle.caCert || !bundle.caKey) return 'new-ca';
    ca = new X509Certificate(bundle.caCert);
    if (!ca.ca || !ca.checkPrivateKey(createPrivateKey(bundle.caKey))) return 'new-ca';
  } catch {
    return 'new-ca';
  }
  if (new Date(ca.validTo).getTime() - now.getTime() < CA_RENEW_BEFORE_MS) return 'new-ca';
  try {
    if (!bundle.cert || !bundle.key) return 'new-serving-cert';
    const cert = new X509Certificate(bundle.cert);
    if (!cert.verify(ca.publicKey) || !cert.checkPrivateKey(createPrivateKey(bundle.key))) return 'new-serving-cert';
    if (new Date(cert.validTo).getTime() - now.getTime() < SERVING_RENEW_BEFORE_MS) return 'new-serving-cert';
    if (new Date(cert.validFrom).getTime() > now.getTime()) return 'new-serving-cert';
    const have = new Set((cert.subjectAltName ?? '').split(', ').filter(Boolean));
    const want = [...names.dnsNames.map((d) => `DNS:${d}`), ...names.ipAddresses.map((ip) => `IP Address:${canonicalSanIp(ip)}`)];
    if (want.some((w) => !have.has(w))) return 'new-serving-cert';
  } catch {
    return 'new-serving-cert';
  }
  return 'keep';
}

/** How node:crypto prints an IP SAN: IPv4 dotted, IPv6 as 8 uncompressed upper-case groups. */
function canonicalSanIp(ip: string): string {
  const b = ipBytes(ip);
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16).toUpperCase());
  return groups.join(':');
}

/** Brings a bundle up to date for `names`; returns undefined when the one given is fine as it is. */
export function renewedBundle(bundle: Partial<CertificateBundle>, names: ServingNames, now: Date): CertificateBundle | undefined {
  const action = certificateAction(bundle, names, now);
  if (action === 'keep') return undefined;
  const ca = action === 'new-ca' ? newCertificateAuthority(now) : { caCert: bundle.caCert as string, caKey: bundle.caKey as string };
  return newServingCertificate(ca, names, now);
}

/** The DNS names a Service-fronted webhook is called by (the API server uses <svc>.<ns>.svc). */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}
