// Password authentication as the OpenStack clients send it (`POST /identity/v3/auth/tokens`), for
// tests that log in by hand; the token is the response's X-Subject-Token.

/** Logs `user` in with `password`, scoped to `project` (unscoped when null), in the Default domain. */
export function passwordLogin(
  url: string,
  user: string,
  password: string,
  project: string | null = null,
): Promise<Response> {
  return fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, domain: { name: 'Default' }, password } },
        },
        ...(project === null ? {} : { scope: { project: { name: project, domain: { name: 'Default' } } } }),
      },
    }),
  });
}
