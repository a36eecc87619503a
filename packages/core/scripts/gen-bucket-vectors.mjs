// Regenerates spec/bucket.json from the built core. Run after an intentional change only:
// these vectors pin the bucketing function across runtimes and SDK versions (RELIABILITY I9).
import { writeFileSync } from 'node:fs';
import { bucket } from '../dist/index.js';

const subjects = [
  '',
  'a',
  'b',
  'ab',
  'abc',
  'abcd',
  'abcde',
  'user-1',
  'user-2',
  'user-42',
  'user-1000',
  '0',
  '1',
  '42',
  '9999',
  '-1',
  ' ',
  '  ',
  'UPPER',
  'lower',
  'MiXeD',
  'with space',
  'tab\tchar',
  'new\nline',
  'quote"',
  'back\\slash',
  'semi;colon',
  'comma,sep',
  'eq=sign',
  'percent%20',
  'a.b.c',
  'uuid-3f2b8c1e-9d4a-4e6f-b1a2-7c8d9e0f1a2b',
  'email@example.com',
  '灰度',
  '用户123',
  'テスト',
  '한국어',
  'émoji-é',
  'Ωmega',
  '😀',
  'flag-🇨🇳',
  'family-👨‍👩‍👧',
  '\u0000nul',
  'lone-\ud800-surrogate',
  'x'.repeat(1024),
  'ab'.repeat(512),
  '灰'.repeat(300),
  'gray_uid_7f3a',
  'session:abc:def',
  'https://example.com/path?q=1',
];
const salts = ['canary', 'checkout', ''];
const vectors = [];
for (const salt of salts.slice(0, 1))
  for (const subject of subjects) vectors.push({ salt, subject, bucket: bucket(salt, subject) });
for (const salt of salts.slice(1))
  for (const subject of subjects.slice(0, 10))
    vectors.push({ salt, subject, bucket: bucket(salt, subject) });
const doc = {
  description: 'bucket(salt, subject) = murmur3_x86_32(utf8(salt + ":" + subject), seed 0) % 10000',
  vectors,
};
writeFileSync(new URL('../spec/bucket.json', import.meta.url), JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${vectors.length} vectors`);
