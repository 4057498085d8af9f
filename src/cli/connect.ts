// The `--os-*` options every command that talks to a server takes, and the authenticated session they give.
import type { Command } from 'commander';
import { type AuthFlags, resolveAuthOptions, Session } from '../client/index.ts';

export function addAuthOptions(command: Command): Command {
  return command
    .option('--os-cloud <name>', 'cloud entry in clouds.yaml ($OS_CLOUD)')
    .option('--os-auth-url <url>', 'identity endpoint, e.g. https://host:9292/identity/v3 ($OS_AUTH_URL)')
    .option('--os-username <name>', 'user name ($OS_USERNAME)')
    .option('--os-user-id <id>', 'user id ($OS_USER_ID)')
    .option('--os-password <password>', 'password ($OS_PASSWORD)')
    .option('--os-project-name <name>', 'project name ($OS_PROJECT_NAME)')
    .option('--os-project-id <id>', 'project id ($OS_PROJECT_ID)')
    .option('--os-user-domain-name <name>', 'user domain ($OS_USER_DOMAIN_NAME, default Default)')
    .option('--os-project-domain-name <name>', 'project domain ($OS_PROJECT_DOMAIN_NAME, default Default)')
    .option('--os-token <token>', 'existing token instead of a password ($OS_TOKEN)')
    .option('--os-region-name <region>', 'region ($OS_REGION_NAME)')
    .option('--os-interface <interface>', 'public, internal or admin ($OS_INTERFACE, default public)')
    .option('--os-cacert <file>', 'CA bundle to verify https endpoints ($OS_CACERT)')
    .option('--os-cert <file>', 'client certificate for servers that require one ($OS_CERT)')
    .option('--os-key <file>', 'key of --os-cert ($OS_KEY)');
}

/** Resolves the options and authenticates; the session then knows every endpoint from the catalog. */
export async function connect(flags: AuthFlags): Promise<Session> {
  const session = new Session(resolveAuthOptions(flags));
  await session.authenticate();
  return session;
}
