// An /etc copy as Debian 12's OpenStack and libvirt packages leave it: the .debs downloaded with apt-get
// (cached by version), unpacked with dpkg-deb, and each postinst's `pkgos_write_new_conf SERVICE FILE`
// replayed (the service configs ship in /usr/share/<package>/; the postinst installs them as
// root:<service> 0640 in /etc/<service>/, the directory <service>:<service> 0750). Tests and bench/posture.ts.
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { extractDeb, fetchDeb } from './debs.ts';

export const OPENSTACK_PACKAGES = [
  'nova-common',
  'glance-common',
  'glance-api',
  'barbican-common',
  'cinder-common',
  'libvirt-daemon-system',
];
/** The service accounts' ids in the copy's own passwd and group (adduser picks them on a real host). */
export const SERVICE_IDS: Record<string, number> = {
  nova: 64060,
  glance: 64061,
  barbican: 64062,
  cinder: 64063,
};

/** Downloads (once) and unpacks the packages into `into`; returns `into`. */
export function unpackOpenStackPackages(into: string): string {
  mkdirSync(into, { recursive: true });
  for (const name of OPENSTACK_PACKAGES) extractDeb(fetchDeb(name), into, name);
  return into;
}

/** Replays the postinst's `pkgos_write_new_conf SERVICE FILE` calls into `etc`. */
function runPostinstConfigs(packages: string, etc: string): string[] {
  const installed: string[] = [];
  for (const name of OPENSTACK_PACKAGES) {
    let postinst: string;
    try {
      postinst = readFileSync(path.join(packages, 'DEBIAN', name, 'postinst'), 'utf8');
    } catch {
      continue;
    }
    for (const match of postinst.matchAll(/^\s*pkgos_write_new_conf ([a-z][\w-]*) ([\w.-]+)\s*$/gm)) {
      const [, service, file] = match;
      const dir = path.join(etc, service);
      mkdirSync(dir, { recursive: true });
      chownSync(dir, SERVICE_IDS[service], SERVICE_IDS[service]);
      chmodSync(dir, 0o750);
      const target = path.join(dir, file);
      cpSync(path.join(packages, 'usr/share', name, file), target);
      chownSync(target, 0, SERVICE_IDS[service]);
      chmodSync(target, 0o640);
      installed.push(`${service}/${file}`);
    }
  }
  if (!installed.includes('nova/nova.conf') || !installed.includes('glance/glance-api.conf'))
    throw new Error(`the postinst scripts installed only ${installed.join(', ')}`);
  return installed;
}

/** A new /etc copy (under `work`) as the unpacked packages' files and postinst leave it. */
export function installedEtc(packages: string, work: string): string {
  const root = mkdtempSync(path.join(work, 'etc-'));
  cpSync(path.join(packages, 'etc'), root, { recursive: true });
  writeFileSync(
    path.join(root, 'passwd'),
    `root:x:0:0:root:/root:/bin/bash\n${Object.entries(SERVICE_IDS)
      .map(([s, id]) => `${s}:x:${id}:${id}::/var/lib/${s}:/bin/false`)
      .join('\n')}\n`,
  );
  writeFileSync(
    path.join(root, 'group'),
    `root:x:0:\n${Object.entries(SERVICE_IDS)
      .map(([s, id]) => `${s}:x:${id}:`)
      .join('\n')}\n`,
  );
  runPostinstConfigs(packages, root);
  return root;
}
