// `imagetrust build TEMPLATE`: lint, bootstrap, customize, disk, scan and provenance in one run, with
// the stages shown as they go; with --sign --upload the image is signed, uploaded and its scan report
// and provenance attached. Outputs appear in the output directory only when the build succeeded.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { openImage } from '../disk/index.ts';
import { ImageTrustError } from '../errors/index.ts';
import { type BuildOutput, buildImage, readBuildTemplate, type StageEvent } from '../pipeline/build/index.ts';
import { CHECK_IDS, parseProfile, renderReport, runChecks } from '../pipeline/checks/index.ts';
import { printResult } from './output.ts';
import { formatDuration } from './progress.ts';

export interface BuildFlags {
  output?: string;
  cacheDir?: string;
  scanProfile?: string;
  format?: string;
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
  const { template, findings } = readBuildTemplate(text, templateFile);
  for (const finding of findings) {
    process.stderr.write(
      `${templateFile}:${finding.line}:${finding.column}: ${finding.severity} ${finding.rule}: ${finding.message}\n`,
    );
  }
  const outputDir = resolve(flags.output ?? `${template.name}-build`);
  const cacheDir = resolve(flags.cacheDir ?? defaultBuildCache());
  const scanProfile = parseProfile(
    flags.scanProfile ? readFileSync(flags.scanProfile, 'utf8') : '',
    CHECK_IDS,
  );
  await mkdir(outputDir, { recursive: true, mode: 0o755 });
  const partial = join(outputDir, `.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { mode: 0o700 });

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = performance.now();
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
    for (const name of [imageName, `${template.name}.scan.json`, `${template.name}.build.json`]) {
      await rename(join(partial, name), join(outputDir, name));
    }
    await rm(join(outputDir, 'logs'), { recursive: true, force: true });
    await rename(join(partial, 'logs'), join(outputDir, 'logs'));
    const result = {
      image: join(outputDir, imageName),
      sha512: digests.sha512,
      size: digests.size,
      scan: scanFailed.length ? 'failed' : 'passed',
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
