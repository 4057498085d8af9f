// Registry authentication as the distribution token spec describes it: parse WWW-Authenticate
// challenges, then answer with HTTP Basic or with a bearer token fetched from the realm.

/** One parsed `WWW-Authenticate` challenge: the scheme (lower case) and its parameters. */
export interface AuthChallenge {
  scheme: string;
  parameters: Record<string, string>;
}

/** Registry credentials, as `--creds user:password` gives them. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Splits `user:password` at the first colon; an empty user is an error, as in skopeo. */
export function parseCredentials(value: string): RegistryCredentials {
  const colon = value.indexOf(':');
  const username = colon < 0 ? value : value.slice(0, colon);
  if (username === '') throw new TypeError('credentials must be user:password with a non-empty user');
  return { username, password: colon < 0 ? '' : value.slice(colon + 1) };
}

/**
 * Parses every challenge of one or more WWW-Authenticate header values (RFC 7235: a scheme, then
 * comma-separated `key=value` or `key="quoted value"` pairs; a new scheme starts a new challenge).
 */
export function parseAuthChallenges(headers: string | string[] | undefined): AuthChallenge[] {
  const values = headers === undefined ? [] : Array.isArray(headers) ? headers : [headers];
  const challenges: AuthChallenge[] = [];
  for (const value of values) {
    let rest = value.trim();
    let current: AuthChallenge | undefined;
    while (rest.length > 0) {
      const pair = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/.exec(
        rest,
      );
      if (pair && current) {
        current.parameters[pair[1].toLowerCase()] =
          pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : pair[3];
        rest = rest.slice(pair[0].length);
        continue;
      }
      const scheme = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*,?\s*/.exec(rest);
      if (!scheme) break;
      current = { scheme: scheme[1].toLowerCase(), parameters: {} };
      challenges.push(current);
      rest = rest.slice(scheme[0].length);
    }
  }
  return challenges;
}

/** The `Authorization` value for HTTP Basic. */
export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** The token request URL for a bearer challenge and the scopes a request needs. */
export function tokenRequestUrl(challenge: AuthChallenge, scopes: string[]): URL {
  const realm = challenge.parameters.realm;
  if (!realm) throw new TypeError('bearer challenge without a realm');
  const url = new URL(realm);
  if (challenge.parameters.service) url.searchParams.set('service', challenge.parameters.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}

/** Reads the token out of a token endpoint answer; `access_token` (OAuth2) and `token` are both allowed. */
export function readTokenResponse(body: string): { token: string; expiresInSeconds: number } {
  const parsed = JSON.parse(body) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
  if (typeof token !== 'string' || token === '') throw new TypeError('the token endpoint sent no token');
  // The spec's default lifetime is 60 s when expires_in is absent or too small.
  const expires = typeof parsed.expires_in === 'number' && parsed.expires_in >= 60 ? parsed.expires_in : 60;
  return { token, expiresInSeconds: expires };
}
