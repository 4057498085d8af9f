// One HTTP call helper for API tests: JSON in and out by default, raw bodies when given, and the
// response as status, parsed JSON (or {}), text, bytes and headers.
export interface ApiResponse {
  status: number;
  json: Record<string, unknown>;
  text: string;
  bytes: Buffer;
  headers: Headers;
}

export async function apiCall(
  base: string,
  token: string | null,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const sent: Record<string, string> = { accept: 'application/json', ...headers };
  if (token) sent['x-auth-token'] = token;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    payload =
      typeof body === 'string'
        ? body
        : body instanceof Uint8Array
          ? new Uint8Array(body)
          : JSON.stringify(body);
    sent['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${url}`, { method, headers: sent, body: payload });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    // Not JSON (an HTML or plain-text error page, or raw data): keep the text and bytes.
  }
  return { status: response.status, json, text, bytes, headers: response.headers };
}
