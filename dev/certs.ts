/**
 * Local certificate authority for the stand-ins and the services.
 *
 * Creates (once, cached in a git-ignored folder) a CA and a TLS leaf certificate for
 * localhost, 127.0.0.1 and ::1; also mints RSA identity certificates of the kind Azure
 * stores as certificate-backed Key Vault secrets (PEM certificate + PKCS#8 key).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../common/package-root.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Root of the repository (the same from dev/ and from dist/dev/). */
export const repoRoot = packageRoot;

/** Default folder for generated certificates (git-ignored). */
export const defaultCertDir = join(repoRoot, '.local', 'certs');

/** PEM material for the local CA and the loopback TLS leaf. */
export interface LocalTls {
  /** Folder holding the files below. */
  dir: string;
  /** CA certificate (PEM) that clients must trust. */
  caPem: string;
  /** Path of the CA certificate file. */
  caFile: string;
  /** Leaf certificate chain (leaf + CA, PEM) for loopback servers. */
  certPem: string;
  /** Path of the leaf certificate file. */
  certFile: string;
  /** Leaf private key (PKCS#8 PEM). */
  keyPem: string;
  /** Path of the leaf key file. */
  keyFile: string;
}

/** An RSA identity certificate as stored in Key Vault for a certificate-backed identity. */
export interface IdentityCertificate {
  /** Certificate (PEM). */
  certPem: string;
  /** Private key (PKCS#8 PEM). */
  keyPem: string;
  /** Key + certificate in one PEM, the `application/x-pem-file` secret value. */
  pemBundle: string;
  /** base64url SHA-256 thumbprint of the DER certificate (`x5t#S256`). */
  x5tS256: string;
  /** base64url SHA-1 thumbprint of the DER certificate (`x5t`). */
  x5t: string;
}

const ecAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const rsaAlg = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;
const DAY_MS = 86_400_000;

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');
}

async function createCa(): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ecAlg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=fhirmesh local CA',
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    keys,
    signingAlgorithm: ecAlg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function createLeaf(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }) {
  const keys = (await webcrypto.subtle.generateKey(ecAlg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 364 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ecAlg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function readTls(dir: string): Promise<LocalTls | undefined> {
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  if (!existsSync(caFile) || !existsSync(certFile) || !existsSync(keyFile)) return undefined;
  const [caPem, certPem, keyPem] = await Promise.all([readFile(caFile, 'utf8'), readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  const leaf = new x509.X509Certificate(certPem.split(/(?<=-----END CERTIFICATE-----)/)[0]!.trim());
  // Regenerate when the leaf has less than a week left.
  if (leaf.notAfter.getTime() - Date.now() < 7 * DAY_MS) return undefined;
  return { dir, caPem, caFile, certPem, certFile, keyPem, keyFile };
}

/**
 * Returns the local CA and loopback leaf, creating them on first use.
 * Safe when several processes call it at once: material is written to a
 * private folder and renamed into place; the first rename wins.
 */
export async function ensureLocalTls(dir: string = defaultCertDir): Promise<LocalTls> {
  const existing = await readTls(dir);
  if (existing) return existing;
  const ca = await createCa();
  const leaf = await createLeaf(ca);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  const caPem = ca.cert.toString('pem') + '\n';
  await writeFile(join(tmp, 'ca.pem'), caPem);
  await writeFile(join(tmp, 'ca-key.pem'), await exportKeyPem(ca.keys.privateKey), { mode: 0o600 });
  await writeFile(join(tmp, 'server.pem'), leaf.cert.toString('pem') + '\n' + caPem);
  await writeFile(join(tmp, 'server-key.pem'), await exportKeyPem(leaf.keys.privateKey), { mode: 0o600 });
  await mkdir(dirname(dir), { recursive: true });
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  try {
    await rename(tmp, dir);
  } catch {
    await rm(tmp, { recursive: true, force: true });
  }
  const tls = await readTls(dir);
  if (!tls) throw new Error(`could not create local TLS material in ${dir}`);
  return tls;
}

/** base64url thumbprint of a DER certificate. */
export function thumbprint(der: Buffer | ArrayBuffer, alg: 'sha1' | 'sha256'): string {
  return createHash(alg).update(Buffer.from(der as ArrayBuffer)).digest('base64url');
}

/**
 * Mints a self-signed RSA certificate for an application identity (the kind of
 * credential a managed identity's certificate-backed Key Vault secret holds).
 */
export async function createIdentityCertificate(
  commonName: string,
  options: { validDays?: number; notBefore?: Date } = {},
): Promise<IdentityCertificate> {
  const keys = (await webcrypto.subtle.generateKey(rsaAlg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validDays ?? 365) * DAY_MS),
    keys,
    signingAlgorithm: rsaAlg,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const certPem = cert.toString('pem') + '\n';
  const keyPem = await exportKeyPem(keys.privateKey);
  return {
    certPem,
    keyPem,
    pemBundle: keyPem + certPem,
    x5tS256: thumbprint(cert.rawData, 'sha256'),
    x5t: thumbprint(cert.rawData, 'sha1'),
  };
}
