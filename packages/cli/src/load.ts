import { readFile } from 'node:fs/promises';
import { RE2JS } from 're2js';
import { createRe2Engine, validateConfig, type ValidationResult } from '@graylane/core';
import { CliError } from './io.js';

const regex = createRe2Engine(RE2JS);
const ETCD_URL = /^etcd:\/\/([^/]+)\/(.+)$/;

/** Reads a config document's text from a file path or `etcd://host:port/key`. */
export async function readConfigText(location: string): Promise<string> {
  const etcd = ETCD_URL.exec(location);
  if (etcd) return readEtcd(etcd[1] as string, decodeURIComponent(etcd[2] as string));
  try {
    return await readFile(location, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : String(code ?? err);
    throw new CliError(`cannot read ${location}: ${why}`);
  }
}

/** Reads and validates; never throws for an invalid document (the result says why). */
export async function loadConfig(location: string): Promise<ValidationResult> {
  return validateConfig(await readConfigText(location), { regex });
}

/** Reads, validates and returns the config, or fails with every problem listed. */
export async function requireConfig(location: string) {
  const result = await loadConfig(location);
  if (!result.ok) {
    throw new CliError(
      `${location} is not a valid config:\n${result.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
      1,
    );
  }
  return result.config;
}

async function readEtcd(host: string, key: string): Promise<string> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: `http://${host}`, dialTimeout: 3000 });
  try {
    const value = await client.get(key).string();
    if (value === null) throw new CliError(`etcd key ${key} does not exist on ${host}`);
    return value;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read etcd://${host}/${key}: ${(err as Error).message}`);
  } finally {
    client.close();
  }
}
