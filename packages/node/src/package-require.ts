import { createRequire } from 'node:module';

/**
 * `require` for optional peers (`@opentelemetry/api`, a NATS client) and Node's built-ins, from
 * this package's code, in its ESM build, its CJS build, and an app bundle. A bundler that turns
 * the ESM build into CommonJS (esbuild `--format=cjs`: AWS CDK's `NodejsFunction`,
 * serverless-esbuild, tsup) leaves `import.meta.url` undefined, and `createRequire(undefined)`
 * threw (`installGlobal()` at startup) or the optional peer was silently never found (the OTel
 * bridge off). Resolves from this file, else from the main script (the bundle), else from the
 * working directory: the first base that finds the module wins. Throws what the last attempt
 * threw.
 */
export function packageRequire(): (id: string) => unknown {
  const bases: string[] = [];
  const here: unknown = import.meta.url;
  if (typeof here === 'string' && here !== '') bases.push(here);
  // Not `__filename`: naming it makes the ESM build compute it from `import.meta.url` at load.
  const main = process.argv[1];
  if (typeof main === 'string' && main !== '') bases.push(main);
  bases.push(`${process.cwd()}/`);
  const requires = bases.flatMap((base) => {
    try {
      return [createRequire(base)];
    } catch {
      return [];
    }
  });
  return (id) => {
    let failure: unknown = new Error(`Cannot find module '${id}'`);
    for (const load of requires) {
      try {
        return load(id);
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  };
}
