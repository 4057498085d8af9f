// check_source_repos: every enabled apt, yum or zypper repository is on an approved host and signed.
import { type ImageProbe, meaningfulLines } from './image-probe.ts';
import { type CheckDefinition, type CheckParameters, verdict } from './types.ts';

interface Repository {
  source: string;
  uri: string;
  /** Why signature checking is off, when it is. */
  unsigned?: string;
}

function uriProblem(uri: string, params: CheckParameters): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `unparsable URI ${uri}`;
  }
  if (url.protocol === 'file:' || url.protocol === 'cdrom:') return `local repository ${uri}`;
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]')
    return `localhost repository ${uri}`;
  const approved = params.approvedRepositoryHosts.some(
    (allowed) => host === allowed || host.endsWith(`.${allowed}`),
  );
  return approved ? undefined : `host ${host} is not approved (${uri})`;
}

function oneLineApt(path: string, text: string): Repository[] {
  const repos: Repository[] = [];
  for (const line of meaningfulLines(text)) {
    const match = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)/.exec(line);
    if (!match) continue;
    const options = new Map(
      (match[2] ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((option) => {
          const [key = '', value = ''] = option.split('=');
          return [key.toLowerCase(), value.toLowerCase()] as const;
        }),
    );
    const repo: Repository = { source: path, uri: match[3] ?? '' };
    if (options.get('trusted') === 'yes') repo.unsigned = 'trusted=yes';
    else if (options.get('allow-insecure') === 'yes') repo.unsigned = 'allow-insecure=yes';
    repos.push(repo);
  }
  return repos;
}

function deb822Apt(path: string, text: string): Repository[] {
  const repos: Repository[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match && !line.startsWith('#')) fields.set((match[1] ?? '').toLowerCase(), (match[2] ?? '').trim());
    }
    if (!fields.has('uris') || fields.get('enabled')?.toLowerCase() === 'no') continue;
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      const repo: Repository = { source: path, uri };
      if (fields.get('trusted')?.toLowerCase() === 'yes') repo.unsigned = 'Trusted: yes';
      else if (fields.get('allow-insecure')?.toLowerCase() === 'yes') repo.unsigned = 'Allow-Insecure: yes';
      repos.push(repo);
    }
  }
  return repos;
}

/** yum/dnf and zypper `.repo` INI files: enabled sections with their URLs and gpgcheck/sslverify. */
function iniRepos(path: string, text: string): Repository[] {
  const repos: Repository[] = [];
  let section: Map<string, string> | undefined;
  const flush = () => {
    if (!section || ['0', 'no', 'false'].includes(section.get('enabled') ?? '1')) return;
    const urls = ['baseurl', 'mirrorlist', 'metalink']
      .flatMap((key) => (section?.get(key) ?? '').split(/\s+/))
      .filter(Boolean);
    for (const uri of urls) {
      const repo: Repository = { source: `${path} [${section.get('[name]')}]`, uri };
      const gpgcheck = section.get('gpgcheck') ?? section.get('repo_gpgcheck');
      if (gpgcheck === undefined || ['0', 'no', 'false'].includes(gpgcheck)) repo.unsigned = 'gpgcheck off';
      else if (['0', 'no', 'false'].includes(section.get('sslverify') ?? '1')) repo.unsigned = 'sslverify=0';
      repos.push(repo);
    }
  };
  for (const line of meaningfulLines(text)) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      flush();
      section = new Map([['[name]', header[1] ?? '']]);
    } else if (section) {
      const match = /^([\w-]+)\s*=\s*(.*)$/.exec(line);
      if (match) section.set((match[1] ?? '').toLowerCase(), (match[2] ?? '').trim());
    }
  }
  flush();
  return repos;
}

async function readRepositories(probe: ImageProbe): Promise<Repository[]> {
  const repos: Repository[] = [];
  const list = await probe.text('/etc/apt/sources.list');
  if (list !== undefined) repos.push(...oneLineApt('/etc/apt/sources.list', list));
  for (const file of await probe.texts('/etc/apt/sources.list.d', /\.(list|sources)$/))
    repos.push(
      ...(file.path.endsWith('.list') ? oneLineApt(file.path, file.text) : deb822Apt(file.path, file.text)),
    );
  for (const dir of ['/etc/yum.repos.d', '/etc/zypp/repos.d'])
    for (const file of await probe.texts(dir, /\.repo$/)) repos.push(...iniRepos(file.path, file.text));
  return repos;
}

const sourceRepos: CheckDefinition = {
  id: 'source-repos',
  title: 'Every enabled repository is on an approved host with signature checking on (check_source_repos)',
  async run(probe, params) {
    const repos = await readRepositories(probe);
    const problems: string[] = [];
    for (const repo of repos) {
      const uri = uriProblem(repo.uri, params);
      if (uri) problems.push(`${repo.source}: ${uri}`);
      if (repo.unsigned)
        problems.push(`${repo.source}: ${repo.uri} has signature checking off (${repo.unsigned})`);
    }
    if (repos.length === 0) return verdict([], ['no repositories configured']);
    return verdict(problems, [`${repos.length} repositories checked`]);
  },
};

export const REPOSITORY_RULES: CheckDefinition[] = [sourceRepos];
