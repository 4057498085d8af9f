// TLS material for one registry, found as c/image finds it: `*.crt` files are extra CAs, a
// `*.cert`/`*.key` pair is the client certificate, in --cert-dir or else in the per-host certs.d folders.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../../errors/index.ts';

/** What node:https needs for one registry. */
export interface RegistryTls {
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** The default certificate folders for a registry host (with port), in c/image's order. */
export function defaultCertDirs(registry: string): string[] {
  return [path.join('/etc/containers/certs.d', registry), path.join('/etc/docker/certs.d', registry)];
}

/** Loads the TLS options for a registry from `certDir` (or the default folders) and the verify flag. */
export function loadRegistryTls(
  registry: string,
  certDir: string | undefined,
  tlsVerify: boolean,
): RegistryTls {
  const dirs = certDir ? [certDir] : defaultCertDirs(registry).filter((dir) => existsSync(dir));
  const extraCas: string[] = [];
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      throw new ConfigError(`Cannot read the certificate directory ${dir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const name of names) {
      const file = path.join(dir, name);
      if (name.endsWith('.crt')) extraCas.push(readFileSync(file, 'utf8'));
      else if (name.endsWith('.cert')) {
        const keyFile = `${file.slice(0, -'.cert'.length)}.key`;
        if (!existsSync(keyFile))
          throw new ConfigError(`missing key ${path.basename(keyFile)} for client certificate ${name}`);
        cert = readFileSync(file);
        key = readFileSync(keyFile);
      } else if (name.endsWith('.key') && !existsSync(`${file.slice(0, -'.key'.length)}.cert`)) {
        throw new ConfigError(
          `missing client certificate ${name.slice(0, -'.key'.length)}.cert for key ${name}`,
        );
      }
    }
  }
  // Extra CAs add to the system roots rather than replace them, as Go's SystemCertPool does.
  return {
    ...(extraCas.length > 0 ? { ca: [...rootCertificates, ...extraCas] } : {}),
    ...(cert && key ? { cert, key } : {}),
    rejectUnauthorized: tlsVerify,
  };
}
