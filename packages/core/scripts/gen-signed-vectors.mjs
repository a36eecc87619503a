// Regenerates spec/signed.json. The tokens are made here with node:crypto directly (not with
// graylane's signer), and every expected result is written down by hand per case, so the vectors
// check graylane rather than restate it. Run after an intentional format change only: Node and
// Web Crypto verifiers must agree on every vector.
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const keys = [
  { kid: 'k1', text: 'k1-secret-key-material-32-bytes!' },
  { kid: 'k2', text: 'k2-secret-key-material-32-bytes!' },
  { kid: '2026-01_rot', hex: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' },
].map((k) => ({ ...k, hex: k.hex ?? Buffer.from(k.text, 'utf8').toString('hex') }));
const keyOf = (kid) => Buffer.from(keys.find((k) => k.kid === kid).hex, 'hex');

const versions = ['stable', 'beta', 'canary'];
const NOW = 1_800_000_000_000; // epoch ms
const EXP = NOW / 1000 + 3600; // unix seconds

const mac = (kid, version, exp, macKid, subject) =>
  createHmac('sha256', keyOf(kid))
    .update(
      subject === undefined
        ? `${version}.${exp}.${macKid}`
        : `${version}.${exp}.${macKid}.${subject}`,
      'utf8',
    )
    .digest();
const token = (kid, version, exp = EXP, subject, tokenKid = kid) =>
  `${version}.${exp}.${tokenKid}.${mac(kid, version, exp, tokenKid, subject).toString('base64url')}`;

const ok = (version, kid, exp = EXP) => ({ ok: true, version, kid, expiresAt: exp * 1000 });
const no = (reason) => ({ ok: false, reason });

const valid = token('k1', 'beta');
const sig = valid.split('.')[3];
const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
// The last of 43 characters carries 4 data bits and 2 spare bits; a set spare bit is a second
// spelling of the same MAC bytes, which a canonical decoder refuses.
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const last = alphabet.indexOf(sig[42]);
const noncanonical = `${valid.slice(0, -1)}${alphabet[last ^ 1]}`;

const cases = [
  ['valid token, no subject', valid, {}, ok('beta', 'k1')],
  ['valid token from the second key (rotation)', token('k2', 'canary'), {}, ok('canary', 'k2')],
  [
    'valid token, binary key, kid with - and _',
    token('2026-01_rot', 'stable'),
    {},
    ok('stable', '2026-01_rot'),
  ],
  [
    'bound to subject, same subject',
    token('k1', 'beta', EXP, 'user-a'),
    { subject: 'user-a' },
    ok('beta', 'k1'),
  ],
  [
    'bound to a UTF-8 subject',
    token('k1', 'beta', EXP, '灰度用户'),
    { subject: '灰度用户' },
    ok('beta', 'k1'),
  ],
  [
    'bound to user A, presented for user B',
    token('k1', 'beta', EXP, 'user-a'),
    { subject: 'user-b' },
    no('bad_signature'),
  ],
  [
    'bound to a subject, presented without one',
    token('k1', 'beta', EXP, 'user-a'),
    {},
    no('bad_signature'),
  ],
  ['unbound, presented with a subject', valid, { subject: 'user-a' }, no('bad_signature')],
  [
    'subject longer than 256 characters',
    token('k1', 'beta', EXP, 'u'.repeat(257)),
    { subject: 'u'.repeat(257) },
    no('bad_signature'),
  ],
  ['empty subject', valid, { subject: '' }, no('bad_signature')],
  ['flipped first MAC character', `${valid.slice(0, -43)}${flip(sig, 0)}`, {}, no('bad_signature')],
  [
    'flipped middle MAC character',
    `${valid.slice(0, -43)}${flip(sig, 21)}`,
    {},
    no('bad_signature'),
  ],
  ['version changed after signing', `canary${valid.slice(4)}`, {}, no('bad_signature')],
  [
    'expiry changed after signing',
    valid.replace(`.${EXP}.`, `.${EXP + 1}.`),
    {},
    no('bad_signature'),
  ],
  [
    'kid changed after signing',
    token('k1', 'beta', EXP, undefined, 'k1').replace('.k1.', '.k2.'),
    {},
    no('bad_signature'),
  ],
  [
    'MAC made with k1 but labelled k2',
    token('k1', 'beta', EXP, undefined, 'k2'),
    {},
    no('bad_signature'),
  ],
  [
    'unknown key id (rotated out)',
    token('k1', 'beta', EXP, undefined, 'k9'),
    {},
    no('bad_signature'),
  ],
  ['expired: now equals exp', valid, { now: EXP * 1000 }, no('expired')],
  ['one millisecond before exp', valid, { now: EXP * 1000 - 1 }, ok('beta', 'k1')],
  ['exp 0', token('k1', 'beta', 0), {}, no('expired')],
  ['valid MAC, undeclared version', token('k1', 'gamma'), {}, no('unknown')],
  ['truncated MAC (42 characters)', valid.slice(0, -1), {}, no('bad_signature')],
  ['extended MAC (44 characters)', `${valid}A`, {}, no('bad_signature')],
  ['standard base64 alphabet (+ and /)', `${valid.slice(0, -2)}+/`, {}, no('bad_signature')],
  ['padded MAC', `${valid.slice(0, -1)}=`, {}, no('bad_signature')],
  ['non-canonical last character (spare bits set)', noncanonical, {}, no('bad_signature')],
  ['non-ASCII in the MAC', `${valid.slice(0, -1)}é`, {}, no('bad_signature')],
  ['too long (10 KB)', `beta.1.k1.${'A'.repeat(10_000)}`, {}, no('too_long')],
  [
    '257 characters',
    `beta.${EXP}.k1.${'A'.repeat(257 - `beta.${EXP}.k1.`.length)}`,
    {},
    no('too_long'),
  ],
  ['bare label', 'beta', {}, no('charset')],
  ['empty string', '', {}, no('charset')],
  ['three parts', `beta.${EXP}.${sig}`, {}, no('charset')],
  ['five parts', `${valid}.x`, {}, no('charset')],
  ['upper-case version', `Beta${valid.slice(4)}`, {}, no('charset')],
  ['expiry with a leading zero', valid.replace(`.${EXP}.`, `.0${EXP}.`), {}, no('charset')],
  ['expiry of 13 digits', valid.replace(`.${EXP}.`, '.1234567890123.'), {}, no('charset')],
  ['negative expiry', valid.replace(`.${EXP}.`, '.-1.'), {}, no('charset')],
  [
    'key id with a dot-free but illegal character',
    valid.replace('.k1.', '.k+1.'),
    {},
    no('charset'),
  ],
  ['leading space', ` ${valid}`, {}, no('charset')],
];

const doc = {
  description:
    'Signed markers: token = version "." exp "." kid "." base64url(HMAC-SHA256(key, utf8(version "." exp "." kid ["." subject]))), unpadded, canonical. exp is unix seconds; a token is expired when floor(now / 1000) >= exp. Expected results are checked in this order: length (too_long) → shape (charset) → MAC encoding, key id, subject, MAC (bad_signature) → expiry (expired) → declared versions (unknown).',
  keys: keys.map(({ kid, text, hex }) => (text ? { kid, text, hex } : { kid, hex })),
  versions,
  now: NOW,
  vectors: cases.map(([name, t, opts, expected]) => ({
    name,
    token: t,
    subject: opts.subject ?? null,
    now: opts.now ?? NOW,
    expected,
  })),
  sign: [
    { kid: 'k1', version: 'beta', exp: EXP, subject: null, token: valid },
    {
      kid: 'k1',
      version: 'beta',
      exp: EXP,
      subject: 'user-a',
      token: token('k1', 'beta', EXP, 'user-a'),
    },
    {
      kid: '2026-01_rot',
      version: 'stable',
      exp: EXP,
      subject: null,
      token: token('2026-01_rot', 'stable'),
    },
  ],
};
writeFileSync(new URL('../spec/signed.json', import.meta.url), JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${doc.vectors.length} vectors and ${doc.sign.length} signing vectors`);
