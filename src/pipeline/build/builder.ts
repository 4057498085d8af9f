// `imagetrust build`: a linted template and a signed package archive in, a bootable qcow2 out, in
// stages cached by the digest of their inputs: bootstrap (mmdebstrap, the archive's InRelease verified
// with its keyring) → customize (our cloud configuration, the template's files and commands in an
// isolated image root, sysprep) → disk (ext4 root, ESP, GPT, GRUB for BIOS and UEFI, qcow2).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImage } from '../../disk/index.ts';
import { sysprepImage } from '../sysprep/index.ts';
import { patchBiosBoot } from './bios-boot.ts';
import {
  basePackages,
  cloudImageFiles,
  type DiskIdentity,
  diskIdentity,
  finishScript,
  LAYOUT,
  rootFilesystemBytes,
  sfdiskScript,
  writeFilesScript,
} from './cloud-image.ts';
import { BuildError } from './errors.ts';
import { runInImageRoot, runTool, StageLog } from './host.ts';
import { StageCache, stageKey } from './stage-cache.ts';
import type { BuildTemplate } from './template.ts';

/** Bumped when what a stage makes changes for the same inputs, so old cache entries are not reused. */
const STAGE_VERSIONS = { bootstrap: 1, customize: 2, disk: 2 } as const;

export type BuildStage = 'bootstrap' | 'customize' | 'disk';

export interface StageEvent {
  stage: BuildStage;
  state: 'start' | 'cached' | 'done';
  key: string;
  ms?: number;
}

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
}

export interface ArchiveIndex {
  /** The file as apt stored it, e.g. `deb.debian.org_debian_dists_bookworm_InRelease`. */
  file: string;
  uri: string;
  sha256: string;
}

export interface BuiltStages {
  bootstrap: { key: string; dir: string; cached: boolean; ms: number };
  customize: { key: string; dir: string; cached: boolean; ms: number };
  disk: { key: string; dir: string; cached: boolean; ms: number };
}

export interface BuildOutput {
  /** The qcow2 in the disk stage's cache entry (copy it out; the cache may be pruned). */
  qcow2: string;
  rawSha256: string;
  identity: DiskIdentity;
  packages: InstalledPackage[];
  archiveIndexes: ArchiveIndex[];
  /** Template command names and sysprep operations applied, for the record. */
  commands: string[];
  sysprep: { operations: string[]; changes: number };
  tools: Record<string, string>;
  stages: BuiltStages;
}

export interface BuildOptions {
  cacheDir: string;
  /** Where stage logs go. */
  logDir: string;
  signal?: AbortSignal;
  onStage?: (event: StageEvent) => void;
  /** For the stage timings only (milliseconds, monotonic). */
  now?: () => number;
  /** The host's resolver file, copied into the image root while template commands run. */
  hostResolvConf?: string;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: ${Package} and the rest are dpkg-query's own fields.
const DPKG_QUERY = "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n'";
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's field.
const VERSION_FORMAT = '-f=${Version}';

function parsePackages(text: string): InstalledPackage[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, version, architecture] = line.split('\t');
      return { name, version, architecture };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

async function toolVersion(command: string, args: string[], log: StageLog): Promise<string> {
  const out = await runTool(command, args, { log, capture: true });
  return out.split('\n')[0].trim();
}

/** The `deb` lines mmdebstrap gets: the mirror first, then the template's repositories. */
function sourceLines(template: BuildTemplate): string[] {
  return [
    `deb ${template.mirror} ${template.distribution.suite} ${template.distribution.components.join(' ')}`,
    ...template.repositories.map(
      (r) => `deb${r.signed ? '' : ' [trusted=yes]'} ${r.uri} ${r.suite} ${r.components.join(' ')}`,
    ),
  ];
}

export async function buildImage(template: BuildTemplate, options: BuildOptions): Promise<BuildOutput> {
  const cache = new StageCache(options.cacheDir);
  const now = options.now ?? (() => performance.now());
  await mkdir(options.logDir, { recursive: true, mode: 0o700 });
  const toolsLog = new StageLog(join(options.logDir, 'tools.log'));
  const tools: Record<string, string> = {};
  try {
    tools.mmdebstrap = await toolVersion('mmdebstrap', ['--version'], toolsLog);
    tools['qemu-img'] = await toolVersion('qemu-img', ['--version'], toolsLog);
    tools.mke2fs = (
      await runTool('dpkg-query', ['-W', VERSION_FORMAT, 'e2fsprogs'], { log: toolsLog, capture: true })
    ).trim();
    tools.imagetrust = 'imagetrust build (stages ' + JSON.stringify(STAGE_VERSIONS) + ')';
  } finally {
    await toolsLog.close();
  }

  const keyring = await readFile(template.distribution.keyring).catch((error) => {
    throw new BuildError(
      'TOOL_MISSING',
      `The archive keyring ${template.distribution.keyring} is missing: apt-get install ${template.distribution.family === 'ubuntu' ? 'ubuntu-keyring' : 'debian-archive-keyring'}.`,
      { cause: error },
    );
  });
  const packages = [...new Set([...basePackages(template), ...template.packages])].sort();
  const bootstrapKey = stageKey({
    version: STAGE_VERSIONS.bootstrap,
    suite: template.distribution.suite,
    sources: sourceLines(template),
    keyring,
    packages,
    mmdebstrap: tools.mmdebstrap,
  });

  const stage = async (
    name: BuildStage,
    key: string,
    make: (dir: string, log: StageLog) => Promise<void>,
  ): Promise<{ key: string; dir: string; cached: boolean; ms: number }> => {
    const found = await cache.find(name, key);
    if (found) {
      options.onStage?.({ stage: name, state: 'cached', key });
      return { key, dir: found, cached: true, ms: 0 };
    }
    options.onStage?.({ stage: name, state: 'start', key });
    const started = now();
    const log = new StageLog(join(options.logDir, `${name}.log`));
    try {
      const dir = await cache.make(name, key, (temp) => make(temp, log));
      const ms = Math.round(now() - started);
      options.onStage?.({ stage: name, state: 'done', key, ms });
      return { key, dir, cached: false, ms };
    } finally {
      await log.close();
    }
  };

  const bootstrap = await stage('bootstrap', bootstrapKey, async (dir, log) => {
    await mkdir(join(dir, 'lists'));
    await runTool(
      'mmdebstrap',
      [
        '--mode=unshare',
        '--variant=required',
        '--format=tar',
        '--architectures=amd64',
        `--keyring=${template.distribution.keyring}`,
        `--include=${packages.join(',')}`,
        '--aptopt=Acquire::Retries "3"',
        `--customize-hook=chroot "$1" ${DPKG_QUERY} > "${join(dir, 'packages.tsv')}"`,
        `--customize-hook=cp "$1"/var/lib/apt/lists/*Release "${join(dir, 'lists')}/"`,
        template.distribution.suite,
        join(dir, 'base.tar'),
        ...sourceLines(template),
      ],
      { log, signal: options.signal },
    );
    // apt refused any unsigned or badly signed index already; gpgv says again which key signed it.
    for (const file of await readdir(join(dir, 'lists'))) {
      if (!file.endsWith('_InRelease')) continue;
      await runTool('gpgv', ['--keyring', template.distribution.keyring, join(dir, 'lists', file)], { log });
    }
  });

  const customizeKey = stageKey({
    version: STAGE_VERSIONS.customize,
    bootstrap: bootstrapKey,
    files: template.files.map((f) => ({ path: f.path, content: f.content })),
    commands: template.commands,
    kernelParams: template.kernelParams,
    rootPassword:
      template.rootPassword === null
        ? null
        : createHash('sha256').update(template.rootPassword).digest('hex'),
    sysprep: template.sysprepOperations,
    repositories: template.repositories,
    mirror: template.mirror,
    // What the builder itself writes and runs: a change to it invalidates the stage without a version bump.
    builder: (() => {
      const placeholder = diskIdentity('');
      return { files: cloudImageFiles(template, placeholder), finish: finishScript(template, placeholder) };
    })(),
  });
  const identity = diskIdentity(customizeKey);
  const commandNames = template.commands.map((c) => c.name);
  const customize = await stage('customize', customizeKey, async (dir, log) => {
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    await runTool(
      'tar',
      [
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        '-xpf',
        join(bootstrap.dir, 'base.tar'),
        '-C',
        root,
      ],
      {
        log,
        signal: options.signal,
      },
    );
    // Every file goes in from inside the image root, so a symlink in the tree (/var/run -> /run, or
    // one a template command made) resolves inside the image, never on the host. Template commands may
    // need name resolution: the host's resolver file stands in until the image's own link is put back.
    const hostResolver = await readFile(options.hostResolvConf ?? '/etc/resolv.conf').catch(() =>
      Buffer.alloc(0),
    );
    await runInImageRoot(
      root,
      writeFilesScript([
        ...cloudImageFiles(template, identity),
        ...template.files.map((file) => ({ path: file.path, content: file.content })),
        { path: '/etc/resolv.conf', content: hostResolver },
      ]),
      { log, signal: options.signal },
    );
    await runInImageRoot(root, finishScript(template, identity), { log, signal: options.signal });
    if (template.rootPassword !== null) {
      // The password reaches chpasswd on stdin, never on a command line or in the log.
      await runInImageRoot(
        root,
        `chpasswd <<'IMAGETRUST_EOF'\nroot:${template.rootPassword}\nIMAGETRUST_EOF\n`,
        {
          log,
          signal: options.signal,
        },
      );
    }
    for (const command of template.commands) {
      log.write(`\n# template command: ${command.name}\n`);
      try {
        await runInImageRoot(root, command.script, { log, signal: options.signal });
      } catch (error) {
        if (error instanceof BuildError && error.code === 'BUILD_FAILED') {
          throw new BuildError(
            'BUILD_FAILED',
            `The template command ${JSON.stringify(command.name)} failed. ${error.message}`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    }
    const installed = await runInImageRoot(root, DPKG_QUERY, { log, capture: true, signal: options.signal });
    await writeFile(join(dir, 'packages.tsv'), installed);
    await runInImageRoot(
      root,
      'rm -f /usr/sbin/policy-rc.d /etc/resolv.conf\nln -s ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf\n',
      { log, signal: options.signal },
    );
    const sysprep = await sysprepImage(root, {
      operations: template.sysprepOperations ?? undefined,
      dryRun: false,
      users: [],
      units: [],
      force: false,
      inPlace: true,
    });
    await writeFile(
      join(dir, 'sysprep.json'),
      JSON.stringify({ operations: sysprep.operations, changes: sysprep.changes.length }),
    );
  });

  const diskKey = stageKey({
    version: STAGE_VERSIONS.disk,
    customize: customizeKey,
    bytes: template.diskBytes,
    layout: LAYOUT,
  });
  const disk = await stage('disk', diskKey, async (dir, log) => {
    const root = join(customize.dir, 'root');
    const ext4 = join(dir, 'root.ext4');
    const esp = join(dir, 'esp.img');
    const raw = join(dir, 'disk.raw');
    const rootBytes = rootFilesystemBytes(template.diskBytes);
    await runTool(
      'mke2fs',
      [
        '-q',
        '-t',
        'ext4',
        '-U',
        identity.rootUuid,
        '-L',
        'rootfs',
        '-d',
        root,
        '-F',
        ext4,
        `${rootBytes / 1024}k`,
      ],
      { log, signal: options.signal },
    );
    await runTool(
      'mkfs.vfat',
      [
        '-F',
        '32',
        '-S',
        '512',
        '-s',
        '1',
        '-n',
        'ESP',
        '-i',
        identity.espVolumeId.replace('-', ''),
        '-C',
        esp,
        String((LAYOUT.espSectors * 512) / 1024),
      ],
      { log },
    );
    // GRUB's images are read through the image's own resolver: a link in the tree cannot point the
    // builder at a host file.
    const tree = await openImage(root);
    let bootImg: Buffer;
    let coreImg: Buffer;
    try {
      bootImg = await tree.readFile('/boot/grub/i386-pc/boot.img');
      coreImg = await tree.readFile('/boot/grub/i386-pc/core.img');
      await writeFile(join(dir, 'BOOTX64.EFI'), await tree.readFile('/boot/grub/x86_64-efi/BOOTX64.EFI'));
    } finally {
      await tree.close();
    }
    await runTool('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT'], { log, signal: options.signal });
    await runTool('mcopy', ['-i', esp, join(dir, 'BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI'], {
      log,
      signal: options.signal,
    });
    await rm(join(dir, 'BOOTX64.EFI'));
    const handle = await open(raw, 'w', 0o600);
    await handle.truncate(template.diskBytes);
    await handle.close();
    await runTool('sfdisk', ['--no-reread', '--no-tell-kernel', raw], { log, input: sfdiskScript(identity) });
    await runTool(
      'dd',
      [
        `if=${esp}`,
        `of=${raw}`,
        'bs=1M',
        `seek=${(LAYOUT.espStart * 512) / 2 ** 20}`,
        'conv=notrunc,sparse',
        'status=none',
      ],
      { log },
    );
    await runTool(
      'dd',
      [
        `if=${ext4}`,
        `of=${raw}`,
        'bs=1M',
        `seek=${(LAYOUT.rootStart * 512) / 2 ** 20}`,
        'conv=notrunc,sparse',
        'status=none',
      ],
      {
        log,
        signal: options.signal,
      },
    );
    await rm(ext4);
    await rm(esp);
    const disk = await open(raw, 'r+');
    try {
      const mbr = Buffer.alloc(512);
      await disk.read(mbr, 0, 512, 0);
      const patched = patchBiosBoot(bootImg, coreImg, mbr, LAYOUT.biosStart, LAYOUT.biosSectors);
      await disk.write(patched.mbr, 0, 512, 0);
      await disk.write(patched.core, 0, patched.core.length, LAYOUT.biosStart * 512);
      await disk.sync();
    } finally {
      await disk.close();
    }
    await writeFile(join(dir, 'raw.sha256'), await sha256File(raw));
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'image.qcow2')], {
      log,
      signal: options.signal,
    });
    await rm(raw);
  });

  const listsDir = join(bootstrap.dir, 'lists');
  const archiveIndexes: ArchiveIndex[] = [];
  for (const file of (await readdir(listsDir)).sort()) {
    archiveIndexes.push({
      file,
      uri: listFileUri(file, template),
      sha256: await sha256File(join(listsDir, file)),
    });
  }
  const sysprep = JSON.parse(await readFile(join(customize.dir, 'sysprep.json'), 'utf8'));
  return {
    qcow2: join(disk.dir, 'image.qcow2'),
    rawSha256: (await readFile(join(disk.dir, 'raw.sha256'), 'utf8')).trim(),
    identity,
    packages: parsePackages(await readFile(join(customize.dir, 'packages.tsv'), 'utf8')),
    archiveIndexes,
    commands: commandNames,
    sysprep,
    tools,
    stages: { bootstrap, customize, disk },
  };
}

/** apt's list file name (`host_path_dists_suite_InRelease`) back to the URL of the source it came from. */
function listFileUri(file: string, template: BuildTemplate): string {
  for (const uri of [template.mirror, ...template.repositories.map((r) => r.uri)]) {
    const prefix = uri
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\/+$/, '')
      .replaceAll('/', '_');
    if (file.startsWith(`${prefix}_dists_`))
      return `${uri.replace(/\/+$/, '')}/${file.slice(prefix.length + 1).replaceAll('_', '/')}`;
  }
  return file;
}
