import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it, as files in `dir`. */
export interface TestPki {
  /** The server certificate followed by the CA (what nginx presents). */
  readonly chain: string;
  readonly key: string;
  /** base64(sha256(SubjectPublicKeyInfo)) of the CA: Chromium's `--ignore-certificate-errors-spki-list`. */
  readonly caSpki: string;
}

/** One day is plenty for a test and keeps a leaked key useless. */
const DAYS = '1';

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Makes a P-256 CA and a server certificate for `IP:127.0.0.1` (serverAuth) with the system's
 * openssl, offline. Browsers trust the CA only through the SPKI pin the caller passes them.
 */
export function makePki(dir: string): TestPki {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    DAYS,
    '-subj',
    '/CN=graylane https e2e CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(dir, [
    'req',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    DAYS,
    '-extfile',
    'server.ext',
    '-out',
    'server.pem',
  ]);
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const chain = join(dir, 'chain.pem');
  writeFileSync(chain, readFileSync(join(dir, 'server.pem'), 'utf8') + ca);
  const spki = new X509Certificate(ca).publicKey.export({ type: 'spki', format: 'der' });
  return {
    chain,
    key: join(dir, 'server.key'),
    caSpki: createHash('sha256').update(spki).digest('base64'),
  };
}
