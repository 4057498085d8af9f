// Typed calls to the image and key-manager APIs over an authenticated session.
import type { Readable } from 'node:stream';
import type { ReleaseRequest } from '../catalog/index.ts';
import { ConflictError, ImageTrustError, NotFoundError } from '../errors/index.ts';
import type { DataResponse } from '../http/index.ts';
import type { Session } from './session.ts';

/** The kinds of report an image carries and the paths they are attached at (as the server's routes). */
export const REPORT_KIND_NAMES = ['compliance', 'boot-test', 'provenance'] as const;
export type ReportKindName = (typeof REPORT_KIND_NAMES)[number];
const REPORT_PATHS: Record<ReportKindName, string> = {
  compliance: 'compliance-report',
  'boot-test': 'boot-test-report',
  provenance: 'provenance',
};

/** The fields of a Glance image the clients here use; extra properties are flattened, as Glance sends them. */
export type ImageView = Record<string, unknown> & {
  id: string;
  name: string | null;
  status: string;
  size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
};

/** A release request as the API returns it. */
export type ReleaseView = ReleaseRequest;

export interface SecretMaterial {
  secretType: string;
  contentType: string;
  payload: Buffer;
}

export class ImageApi {
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  #images(): string {
    return `${this.#session.endpoint('image')}/v2/images`;
  }

  createImage(body: Record<string, unknown>): Promise<ImageView> {
    return this.#session.json<ImageView>('POST', this.#images(), body, [201]);
  }

  getImage(id: string): Promise<ImageView> {
    return this.#session.json<ImageView>('GET', `${this.#images()}/${encodeURIComponent(id)}`);
  }

  /** Every image the caller may see, following Glance's `next` links (all visibilities, hidden ones too). */
  async listImages(): Promise<ImageView[]> {
    const base = this.#session.endpoint('image');
    const images: ImageView[] = [];
    let next: string | undefined = '/v2/images?limit=200&member_status=all&os_hidden=false';
    const seen = new Set<string>();
    for (const query of [next, '/v2/images?limit=200&member_status=all&os_hidden=true']) {
      next = query;
      while (next) {
        const page: { images: ImageView[]; next?: string } = await this.#session.json(
          'GET',
          `${base}${next}`,
        );
        for (const image of page.images)
          if (!seen.has(image.id)) {
            seen.add(image.id);
            images.push(image);
          }
        next = page.next;
      }
    }
    return images;
  }

  /**
   * An image by id, else by name, as the openstack client finds one: a name two images share is
   * refused (AMBIGUOUS_NAME), a name none has is NOT_FOUND.
   */
  async findImage(nameOrId: string): Promise<ImageView> {
    try {
      return await this.getImage(nameOrId);
    } catch (error) {
      if (!(error instanceof ImageTrustError) || error.code !== 'NOT_FOUND') throw error;
    }
    const { images } = await this.#session.json<{ images: ImageView[] }>(
      'GET',
      `${this.#images()}?name=${encodeURIComponent(nameOrId)}&limit=2`,
    );
    if (images.length > 1) {
      throw new ConflictError(
        'AMBIGUOUS_NAME',
        `More than one image exists with the name '${nameOrId}'. Name it by id.`,
      );
    }
    if (images.length === 0) throw new NotFoundError(`No image with a name or ID of '${nameOrId}' exists.`);
    return images[0];
  }

  async uploadImage(id: string, data: Readable, length?: number): Promise<void> {
    const url = `${this.#images()}/${encodeURIComponent(id)}/file`;
    const response = await this.#session.request('PUT', url, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      length,
    });
    await this.#session.expect(response, [204], `Upload of image ${id}`);
    response.body.resume();
  }

  /** Changes or schedules an image's lifecycle (state, deprecation_at, obsolescence_at, replacement). */
  setLifecycle(id: string, body: Record<string, unknown>): Promise<ImageView> {
    return this.#session.json<ImageView>(
      'PUT',
      `${this.#images()}/${encodeURIComponent(id)}/lifecycle`,
      body,
    );
  }

  /**
   * Attaches a report of a kind (compliance, boot-test, provenance) exactly as given: it is digested
   * as sent.
   */
  async attachReport(
    id: string,
    document: Buffer,
    kind: ReportKindName = 'compliance',
  ): Promise<Record<string, unknown>> {
    const url = `${this.#images()}/${encodeURIComponent(id)}/${REPORT_PATHS[kind]}`;
    const response = await this.#session.request('PUT', url, {
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: document,
      length: document.length,
    });
    await this.#session.expect(response, [200], `Attaching the ${kind} report of image ${id}`);
    let text = '';
    for await (const chunk of response.body) text += chunk;
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** The image's current report of a kind, its document parsed. */
  getReport(id: string, kind: ReportKindName = 'compliance'): Promise<Record<string, unknown>> {
    return this.#session.json<Record<string, unknown>>(
      'GET',
      `${this.#images()}/${encodeURIComponent(id)}/${REPORT_PATHS[kind]}`,
    );
  }

  requestRelease(id: string, body: { target: string; reason?: string }): Promise<ReleaseView> {
    return this.#session.json<ReleaseView>(
      'POST',
      `${this.#images()}/${encodeURIComponent(id)}/releases`,
      body,
      [201],
    );
  }

  async listReleases(filter: { imageId?: string; status?: string }): Promise<ReleaseView[]> {
    const base = this.#session.endpoint('image');
    const url = filter.imageId
      ? `${this.#images()}/${encodeURIComponent(filter.imageId)}/releases`
      : `${base}/v2/releases${filter.status ? `?status=${encodeURIComponent(filter.status)}` : ''}`;
    const { releases } = await this.#session.json<{ releases: ReleaseView[] }>('GET', url);
    return filter.imageId && filter.status ? releases.filter((r) => r.status === filter.status) : releases;
  }

  decideRelease(requestId: string, decision: 'approve' | 'reject', reason?: string): Promise<ReleaseView> {
    const url = `${this.#session.endpoint('image')}/v2/releases/${encodeURIComponent(requestId)}/${decision}`;
    return this.#session.json<ReleaseView>('POST', url, reason === undefined ? {} : { reason });
  }

  /** The certificate the image was signed with, served by the catalog to whoever may see the image. */
  async getSigningCertificate(id: string): Promise<SecretMaterial | null> {
    const url = `${this.#images()}/${encodeURIComponent(id)}/signing-certificate`;
    const response = await this.#session.request('GET', url);
    if (response.status === 404) {
      response.body.resume();
      return null;
    }
    await this.#session.expect(response, [200], `Signing certificate of image ${id}`);
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    const contentType = String(response.headers['content-type'] ?? 'application/octet-stream').split(';')[0];
    return { secretType: 'certificate', contentType, payload: Buffer.concat(chunks) };
  }

  /**
   * Opens the image data; the caller consumes `body`, whose blocks are valid only until the next one is
   * asked for (copy one to keep it).
   */
  async downloadImage(id: string, signal?: AbortSignal): Promise<DataResponse> {
    const url = `${this.#images()}/${encodeURIComponent(id)}/file`;
    const response = await this.#session.download(url, [200, 204], `Download of image ${id}`, signal);
    if (response.status === 204) {
      response.close();
      throw new ImageTrustError('NOT_FOUND', `Image ${id} has no data.`);
    }
    return response;
  }
}

export class SecretApi {
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  #secrets(): string {
    return `${this.#session.endpoint('key-manager')}/v1/secrets`;
  }

  /** Stores a PEM certificate the way the OpenStack guide does (base64, octet-stream); returns its id. */
  async storeCertificate(pem: string | Buffer, name: string): Promise<string> {
    const { secret_ref: ref } = await this.#session.json<{ secret_ref: string }>(
      'POST',
      `${this.#secrets()}/`,
      {
        name,
        secret_type: 'certificate',
        payload: Buffer.from(pem).toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      },
      [201],
    );
    return ref.replace(/\/+$/, '').split('/').at(-1)!;
  }

  /** Fetches a secret as castellan does: metadata, then the payload in its default content type. */
  async getSecret(id: string): Promise<SecretMaterial | null> {
    const url = `${this.#secrets()}/${encodeURIComponent(id)}`;
    const metadata = await this.#session.request('GET', url, { headers: { accept: 'application/json' } });
    if (metadata.status === 404) {
      metadata.body.resume();
      return null;
    }
    await this.#session.expect(metadata, [200], `Secret ${id}`);
    let text = '';
    for await (const chunk of metadata.body) text += chunk;
    const meta = JSON.parse(text) as { secret_type: string; content_types?: { default?: string } };
    const contentType = meta.content_types?.default ?? 'application/octet-stream';
    const payload = await this.#session.request('GET', `${url}/payload`, {
      headers: { accept: contentType },
    });
    await this.#session.expect(payload, [200], `Payload of secret ${id}`);
    const chunks: Buffer[] = [];
    for await (const chunk of payload.body) chunks.push(chunk as Buffer);
    return { secretType: meta.secret_type, contentType, payload: Buffer.concat(chunks) };
  }
}
