import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CA_VALIDITY_MS, SERVING_VALIDITY_MS, certificateAction, newCertificateAuthority, newServingCertificate, renewedBundle, serviceDnsNames,
  type CertificateBundle, type ServingNames,
} from '../../src/webhook/certificate.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const NAMES: ServingNames = { dnsNames: serviceDnsNames('metallb-webhook-service', 'metallb-system'), ipAddresses: ['127.0.0.1', '2001:db8::1'] };
const DAY = 24 * 3600_000;

function bundle(now = NOW, names = NAMES): CertificateBundle {
  return newServingCertificate(newCertificateAuthority(now), names, now);
}

/** A real TLS handshake: the client trusts only the CA and checks the host name or IP. */
async function handshake(b: CertificateBundle, servername: string | undefined, host = '127.0.0.1'): Promise<string> {
  const server = createServer({ cert: b.cert, key: b.key }, (s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve, reject) => {
      const sock = connect({ host, port, ca: b.caCert, ...(servername ? { servername } : {}) }, () => undefined);
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('webhook certificates', () => {
  it('the CA is a CA, the serving certificate is signed by it and names the service and the IPs', () => {
    const b = bundle();
    const ca = new X509Certificate(b.caCert);
    const cert = new X509Certificate(b.cert);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:metallb-webhook-service.metallb-system.svc');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:2001:DB8:0:0:0:0:0:1');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    expect(new Date(cert.validTo).getTime() - NOW.getTime()).toBe(SERVING_VALIDITY_MS);
    expect(new Date(ca.validTo).getTime() - NOW.getTime()).toBe(CA_VALIDITY_MS);
    expect(new Date(ca.validFrom).getTime()).toBeLessThan(NOW.getTime()); // clock skew allowance
    // A certificate of another CA does not verify.
    expect(cert.verify(new X509Certificate(bundle().caCert).publicKey)).toBe(false);
  });

  it('a TLS client trusting only the CA accepts the service name and 127.0.0.1, and refuses other names', async () => {
    const now = new Date();
    const b = bundle(now);
    expect(await handshake(b, 'metallb-webhook-service.metallb-system.svc')).toBe('ok');
    expect(await handshake(b, undefined)).toBe('ok'); // IP SAN 127.0.0.1
    await expect(handshake(b, 'other.metallb-system.svc')).rejects.toThrow(/altnames|Hostname/i);
    await expect(handshake({ ...b, caCert: bundle(now).caCert }, 'metallb-webhook-service.metallb-system.svc')).rejects.toThrow(/certificate/i);
  });

  it('openssl agrees (when it is installed)', () => {
    if (spawnSync('openssl', ['version']).status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'ironlb-cert-'));
    try {
      const b = bundle(new Date());
      writeFileSync(join(dir, 'ca.pem'), b.caCert);
      writeFileSync(join(dir, 'cert.pem'), b.cert);
      const res = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')], { encoding: 'utf8' });
      expect(res.stdout + res.stderr).toContain(': OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decides when to keep, renew the serving certificate, or start over', () => {
    const b = bundle();
    expect(certificateAction(b, NAMES, NOW)).toBe('keep');
    expect(certificateAction({}, NAMES, NOW)).toBe('new-ca');
    expect(certificateAction({ ...b, caKey: bundle().caKey }, NAMES, NOW)).toBe('new-ca'); // key does not match
    expect(certificateAction({ ...b, caCert: 'garbage' }, NAMES, NOW)).toBe('new-ca');
    expect(certificateAction({ caCert: b.caCert, caKey: b.caKey }, NAMES, NOW)).toBe('new-serving-cert');
    expect(certificateAction({ ...b, key: bundle().key }, NAMES, NOW)).toBe('new-serving-cert');
    expect(certificateAction({ ...b, cert: bundle().cert }, NAMES, NOW)).toBe('new-serving-cert'); // other CA
    expect(certificateAction(b, { ...NAMES, ipAddresses: ['192.0.2.7'] }, NOW)).toBe('new-serving-cert');
    expect(certificateAction(b, { ...NAMES, dnsNames: ['x.y.svc'] }, NOW)).toBe('new-serving-cert');
    // Expiry: the serving cert 30 days before, the CA 90 days before.
    expect(certificateAction(b, NAMES, new Date(NOW.getTime() + SERVING_VALIDITY_MS - 31 * DAY))).toBe('keep');
    expect(certificateAction(b, NAMES, new Date(NOW.getTime() + SERVING_VALIDITY_MS - 29 * DAY))).toBe('new-serving-cert');
    expect(certificateAction(b, NAMES, new Date(NOW.getTime() + CA_VALIDITY_MS - 89 * DAY))).toBe('new-ca');
  });

  it('renewal keeps the CA when it is good (the caBundle stays valid) and replaces it when not', () => {
    const b = bundle();
    expect(renewedBundle(b, NAMES, NOW)).toBeUndefined();
    const later = new Date(NOW.getTime() + SERVING_VALIDITY_MS - 10 * DAY);
    const renewed = renewedBundle(b, NAMES, later);
    expect(renewed?.caCert).toBe(b.caCert);
    expect(renewed?.cert).not.toBe(b.cert);
    expect(certificateAction(renewed!, NAMES, later)).toBe('keep');
    const fresh = renewedBundle({}, NAMES, NOW);
    expect(fresh && certificateAction(fresh, NAMES, NOW)).toBe('keep');
  });
});
