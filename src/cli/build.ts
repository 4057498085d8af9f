// `imagetrust build TEMPLATE`: lint, bootstrap, customize, disk, scan and provenance in one run, with
// the stages shown as they go; with --sign --upload the image is signed, uploaded and its scan report
// and provenance attached. Outputs appear in the output directory only when the build succeeded.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { AuthFlags } from '../client/index.ts';
import { openImage } from '../disk/index.ts';
import { ImageTrustError } from '../errors/index.ts';
import { type BuildOutput, buildImage, readBuildTemplate, type StageEvent } from '../pipeline/build/index.ts';
import { CHECK_IDS, parseProfile, renderReport, runChecks } from '../pipeline/checks/index.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  makeBuildProvenance,
  signEnvelope,
} from '../pipeline/provenance/index.ts';
import { createFileOnce, replaceFile } from '../storage/index.ts';
import { printResult } from './output.ts';
import { formatDuration } from './progress.ts';
import { readProfileText } from './read-text.ts';
import type { SignFlags } from './sign.ts';

export interface BuildFlags extends AuthFlags {
  output?: string;
  cacheDir?: string;
  scanProfile?: string;
  format?: string;
  buildKey?: string;
  sign?: boolean;
  upload?: boolean;
  key?: string;
  passphraseFile?: string;
  hashMethod?: string;
  cert?: string;
  certId?: string;
  name?: string;
  visibility?: string;
  property?: string[];
}

/** The builder's identity in provenance records. */
export const BUILDER_ID = 'https://imagetrust.dev/builder/imagetrust-build';

/** Where the build key lives unless --build-key names one: $IMAGETRUST_BUILD_KEY, else a per-user or system file. */
export function defaultBuildKey(): string {
  if (process.env.IMAGETRUST_BUILD_KEY) return process.env.IMAGETRUST_BUILD_KEY;
  return process.getuid?.() === 0
    ? '/etc/imagetrust/build-key.pem'
    : join(homedir(), '.config/imagetrust/build-key.pem');
}

/**
 * The private key that signs provenance (Ed25519 or ECDSA P-256, PKCS#8 PEM). The default file is made
 * on first use, private to its owner, with the public key beside it for `provenance.trustedKeys`.
 */
async function loadBuildKey(file: string | undefined): Promise<KeyObject> {
  const path = resolve(file ?? defaultBuildKey());
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || file) {
      throw new ImageTrustError(
        'INPUT_UNREADABLE',
        `Cannot read the build key ${path}: ${(error as Error).message}`,
      );
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const made = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    // Two builds starting at once on a new machine: one key is linked into place whole, both use it.
    if (await createFileOnce(path, made)) {
      const pub = `${path.replace(/\.pem$/, '')}.pub`;
      await replaceFile(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644 });
      process.stderr.write(
        `Made a new build key ${path}; list ${pub} in the server's provenance.trustedKeys.\n`,
      );
    }
    pem = await readFile(path);
  }
  try {
    const key = createPrivateKey(pem);
    const type = key.asymmetricKeyType;
    if (type !== 'ed25519' && !(type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')) {
      throw new Error(`a ${type} key`);
    }
    return key;
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_INVALID',
      `${path} is not an Ed25519 or ECDSA P-256 private key (PKCS#8 PEM): ${(error as Error).message}`,
    );
  }
}

/** Where stage outputs are kept between builds: `--cache-dir`, $IMAGETRUST_BUILD_CACHE, else a per-user or system cache. */
export function defaultBuildCache(): string {
  if (process.env.IMAGETRUST_BUILD_CACHE) return process.env.IMAGETRUST_BUILD_CACHE;
  return process.getuid?.() === 0
    ? '/var/cache/imagetrust/build'
    : join(homedir(), '.cache/imagetrust/build');
}

/** sha512 and sha256 of a file in one pass: the catalog shows the first as os_hash_value. */
export async function fileDigests(file: string): Promise<{ sha512: string; sha256: string; size: number }> {
  const sha512 = createHash('sha512');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
    sha512.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha512: sha512.digest('hex'), sha256: sha256.digest('hex'), size };
}

const STAGE_TITLES: Record<StageEvent['stage'], string> = {
  bootstrap: 'bootstrap: packages from the verified archive',
  customize: 'customize: configuration, template files and commands, sysprep',
  disk: 'disk: ext4 root, ESP, GPT, GRUB (BIOS and UEFI), qcow2',
};

export async function runBuild(templateFile: string, flags: BuildFlags): Promise<void> {
  let text: string;
  try {
    text = readFileSync(templateFile, 'utf8');
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_UNREADABLE',
      `Cannot read template ${templateFile}: ${(error as Error).message}`,
    );
  }
  if (flags.upload && !flags.sign) {
    throw new ImageTrustError('BAD_REQUEST', '--upload needs --sign: images leave the builder signed.');
  }
  if (flags.sign && !flags.key)
    throw new ImageTrustError('BAD_REQUEST', '--sign needs --key FILE (the image signing key).');
  if (flags.upload && !flags.cert && !flags.certId) {
    throw new ImageTrustError(
      'BAD_REQUEST',
      '--upload needs the certificate: --cert FILE or --cert-id UUID.',
    );
  }
  const { template, findings } = readBuildTemplate(text, templateFile);
  const buildKey = await loadBuildKey(flags.buildKey);
  for (const finding of findings) {
    process.stderr.write(
      `${templateFile}:${finding.line}:${finding.column}: ${finding.severity} ${finding.rule}: ${finding.message}\n`,
    );
  }
  const outputDir = resolve(flags.output ?? `${template.name}-build`);
  const cacheDir = resolve(flags.cacheDir ?? defaultBuildCache());
  const scanProfile = parseProfile(readProfileText(flags.scanProfile), CHECK_IDS);
  await mkdir(outputDir, { recursive: true, mode: 0o755 });
  const partial = join(outputDir, `.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { mode: 0o700 });

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = performance.now();
  const startedOn = new Date();
  const stageStarted = new Map<string, number>();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let built: BuildOutput;
  try {
    say(
      `Building ${template.name} (${template.distribution.name} ${template.distribution.version}) from ${template.mirror}; stages cached in ${cacheDir}`,
    );
    built = await buildImage(template, {
      cacheDir,
      logDir: join(partial, 'logs'),
      signal: controller.signal,
      onStage: (event) => {
        const title = STAGE_TITLES[event.stage];
        if (event.state === 'cached') say(`  ✓ ${title} (cached ${event.key.slice(0, 12)})`);
        else if (event.state === 'start') {
          stageStarted.set(event.stage, performance.now());
          say(`  … ${title}`);
        } else say(`  ✓ ${title} (${formatDuration((event.ms ?? 0) / 1000)})`);
      },
    });
    say('  … scan: the offline compliance suite on the qcow2');
    const imageName = `${template.name}.qcow2`;
    const image = join(partial, imageName);
    await copyFile(built.qcow2, image);
    const digests = await fileDigests(image);
    const fs = await openImage(image, { tempDir: partial });
    let report: string;
    let scanFailed: string[];
    try {
      const results = await runChecks(fs, scanProfile);
      report = renderReport('json', imageName, results, { imageSha512: digests.sha512 });
      scanFailed = results.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => r.id);
    } finally {
      await fs.close();
    }
    await writeFile(join(partial, `${template.name}.scan.json`), report);
    say(scanFailed.length ? `  ✗ scan: ${scanFailed.join(', ')} failed` : '  ✓ scan: every check passed');
    const scanName = `${template.name}.scan.json`;
    const mirrorIndex = built.archiveIndexes.find((index) =>
      index.uri.startsWith(`${template.mirror}/dists/`),
    );
    const statement = makeBuildProvenance({
      image: { name: imageName, sha512: digests.sha512, sha256: digests.sha256 },
      template: { name: basename(templateFile), sha256: template.digest },
      suite: template.distribution.suite,
      mirror: template.mirror,
      mirrorRelease: {
        uri: mirrorIndex?.uri ?? `${template.mirror}/dists/${template.distribution.suite}/InRelease`,
        sha256: mirrorIndex?.sha256 ?? '',
      },
      packages: built.packages.map((p) => ({ name: p.name, version: p.version, arch: p.architecture })),
      toolVersions: built.tools,
      stageCacheKeys: Object.fromEntries(Object.entries(built.stages).map(([k, v]) => [k, v.key])),
      builder: { id: BUILDER_ID, version: { imagetrust: built.tools.imagetrust } },
      invocationId: randomUUID(),
      startedOn,
      finishedOn: new Date(),
      byproducts: {
        scanReport: { name: scanName, sha256: createHash('sha256').update(report).digest('hex') },
        rawImage: { name: `${template.name}.raw`, digest: { sha256: built.rawSha256 } },
      },
    });
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, JSON.stringify(statement), buildKey);
    await writeFile(
      join(partial, `${template.name}.provenance.json`),
      `${JSON.stringify(envelope, null, 2)}\n`,
    );
    const record = {
      template: { file: basename(templateFile), sha256: template.digest, name: template.name },
      image: { file: imageName, ...digests },
      raw_sha256: built.rawSha256,
      packages: built.packages,
      archive_indexes: built.archiveIndexes,
      stages: built.stages,
      tools: built.tools,
      sysprep: built.sysprep,
      scan: { failed: scanFailed },
    };
    await writeFile(join(partial, `${template.name}.build.json`), `${JSON.stringify(record, null, 2)}\n`);
    // Publish: the finished files move into the output directory, logs beside them.
    for (const name of [
      imageName,
      scanName,
      `${template.name}.build.json`,
      `${template.name}.provenance.json`,
    ]) {
      await rename(join(partial, name), join(outputDir, name));
    }
    await rm(join(outputDir, 'logs'), { recursive: true, force: true });
    await rename(join(partial, 'logs'), join(outputDir, 'logs'));
    const published = join(outputDir, imageName);
    let uploaded: { id: string; name: string; status: string } | undefined;
    if (flags.sign) {
      if (flags.upload && scanFailed.length) {
        throw new ImageTrustError(
          'BAD_REQUEST',
          `Not uploading ${template.name}: the offline scan failed (${scanFailed.join(', ')}); the image and its report are in ${outputDir}.`,
        );
      }
      say(`  … sign${flags.upload ? ', upload and attach the scan report and provenance' : ''}`);
      const { signAndUpload } = await import('./sign.ts');
      const signFlags: SignFlags = {
        ...flags,
        key: flags.key as string,
        hashMethod: flags.hashMethod ?? 'SHA-256',
        containerFormat: 'bare',
        diskFormat: 'qcow2',
        name: flags.name ?? template.name,
        property: [
          ...(flags.property ?? []),
          'hw_rng_model=virtio',
          `imagetrust_build=${statement.predicate?.runDetails.metadata?.invocationId ?? ''}`,
        ],
        format: undefined,
      };
      const outcome = await signAndUpload(published, signFlags);
      await writeFile(
        join(outputDir, `${template.name}.signature.json`),
        `${JSON.stringify(outcome.properties ?? { signature: outcome.signature }, null, 2)}\n`,
      );
      if (outcome.image) {
        const { ImageApi } = await import('../client/index.ts');
        const { connect } = await import('./connect.ts');
        const images = new ImageApi(await connect(flags));
        await images.attachReport(outcome.image.id, await readFile(join(outputDir, scanName)), 'compliance');
        await images.attachReport(
          outcome.image.id,
          await readFile(join(outputDir, `${template.name}.provenance.json`)),
          'provenance',
        );
        uploaded = {
          id: outcome.image.id,
          name: outcome.image.name as string,
          status: outcome.image.status as string,
        };
        say(`  ✓ uploaded ${uploaded.id} (${uploaded.status}), scan report and provenance attached`);
      } else say('  ✓ signed');
    }
    const result = {
      image: published,
      sha512: digests.sha512,
      size: digests.size,
      scan: scanFailed.length ? 'failed' : 'passed',
      provenance: join(outputDir, `${template.name}.provenance.json`),
      build_key_id: keyIdOf(createPublicKey(buildKey)),
      ...(uploaded ? { uploaded } : {}),
      stages: Object.fromEntries(
        Object.entries(built.stages).map(([k, v]) => [k, v.cached ? 'cached' : `${v.ms} ms`]),
      ),
      seconds: Math.round((performance.now() - started) / 1000),
    };
    printResult(result, flags, {
      text: () =>
        process.stdout.write(
          `${result.image}\n  sha512 ${digests.sha512}\n  scan ${result.scan}; built in ${formatDuration(result.seconds)}\n`,
        ),
    });
    if (scanFailed.length) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await rm(partial, { recursive: true, force: true });
  }
}
