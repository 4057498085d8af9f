// The secret service's policy (Barbican's secure-RBAC defaults) and lookups, on a real SQLite database:
// who may create, list, read, decrypt, upload and delete, and what signature verification gets back.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKek, SecretService } from '../../src/keys/index.ts';
import {
  openDatabase,
  type SqlDatabase,
  SqlSecretRepository,
  staticKeyring,
} from '../../src/storage/index.ts';
import { testCredentials } from '../support/credentials.ts';
import { eventStreamFor } from '../support/events.ts';

const caller = testCredentials;

const alice = caller('alice', 'project-a', ['member', 'reader']);
const amos = caller('amos', 'project-a', ['member', 'reader']); // another member of alice's project
const reader = caller('rita', 'project-a', ['reader']);
const bob = caller('bob', 'project-b', ['member', 'reader']);
const adminB = caller('root', 'project-b', ['admin', 'member', 'reader']);
const adminA = caller('root', 'project-a', ['admin', 'member', 'reader']);
const unscoped = caller('alice', null, []);

const json = (body: unknown) => ({ mediaType: 'application/json', body: Buffer.from(JSON.stringify(body)) });

describe('SecretService', () => {
  let dir: string;
  let db: SqlDatabase;
  let service: SecretService;
  let now = new Date('2024-03-01T10:00:00Z');
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-secrets-'));
    db = await openDatabase(`sqlite:${path.join(dir, 'metadata.db')}`);
    const kek = createKek(now);
    service = new SecretService({
      secrets: new SqlSecretRepository(db),
      keyring: staticKeyring({ current: kek.id, keys: [kek] }),
      clock: { now: () => now },
      events: eventStreamFor(db, { now: () => now }),
    });
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const certificate = () =>
    service.createSecret(
      alice,
      json({
        name: 'cert',
        secret_type: 'certificate',
        payload: Buffer.from('PEM BYTES').toString('base64'),
        payload_content_type: 'application/octet-stream',
        payload_content_encoding: 'base64',
      }),
    );

  it('lets project members create, read and decrypt secrets of their project, whoever created them', async () => {
    const secret = await certificate();
    assert.equal(secret.creatorId, 'alice');
    assert.equal(secret.projectId, 'project-a');
    for (const who of [alice, amos, adminA]) {
      assert.equal((await service.getSecret(who, secret.id)).name, 'cert');
      assert.equal((await service.readPayload(who, secret.id, undefined)).body.toString(), 'PEM BYTES');
    }
  });

  it("answers another project's secret with 403, even for that project's admin, and lists none of it", async () => {
    const secret = await certificate();
    for (const who of [bob, adminB]) {
      await assert.rejects(service.getSecret(who, secret.id), { code: 'FORBIDDEN' });
      await assert.rejects(service.readPayload(who, secret.id, 'text/plain'), { code: 'FORBIDDEN' });
      await assert.rejects(service.deleteSecret(who, secret.id), { code: 'FORBIDDEN' });
      const page = await service.listSecrets(who, {});
      assert.ok(!page.secrets.some((s) => s.id === secret.id));
    }
  });

  it('gives readers and unscoped tokens nothing, as Barbican does', async () => {
    const secret = await certificate();
    await assert.rejects(service.createSecret(reader, json({})), { code: 'FORBIDDEN' });
    await assert.rejects(service.listSecrets(reader, {}), { code: 'FORBIDDEN' });
    await assert.rejects(service.getSecret(reader, secret.id), { code: 'FORBIDDEN' });
    await assert.rejects(service.listSecrets(unscoped, {}), { code: 'FORBIDDEN' });
  });

  it('checks policy before the body, as Barbican: a reader gets 403 even for a malformed request', async () => {
    await assert.rejects(service.createSecret(reader, { mediaType: 'text/plain', body: Buffer.from('x') }), {
      code: 'FORBIDDEN',
    });
    await assert.rejects(service.createSecret(alice, { mediaType: 'text/plain', body: Buffer.from('x') }), {
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    await assert.rejects(
      service.createSecret(alice, { mediaType: 'application/json', body: Buffer.from('{') }),
      {
        code: 'MALFORMED_JSON',
      },
    );
  });

  it('takes a payload once in two steps, and refuses the second with CONFLICT', async () => {
    const secret = await service.createSecret(alice, json({ name: 'two-step' }));
    await assert.rejects(service.readPayload(alice, secret.id, 'text/plain'), {
      code: 'NOT_FOUND',
      message: 'Not Found. Sorry but your secret has no payload.',
    });
    await service.storePayload(alice, secret.id, {
      mediaType: 'text/plain',
      contentEncoding: undefined,
      body: Buffer.from('later'),
    });
    assert.equal((await service.readPayload(alice, secret.id, 'text/plain')).body.toString(), 'later');
    await assert.rejects(
      service.storePayload(alice, secret.id, {
        mediaType: 'text/plain',
        contentEncoding: undefined,
        body: Buffer.from('x'),
      }),
      { code: 'CONFLICT' },
    );
  });

  it('treats expired secrets as absent and tells invalid ids from unknown ones', async () => {
    const secret = await service.createSecret(alice, json({ expiration: '2024-03-01T11:00:00Z' }));
    assert.equal((await service.getSecret(alice, secret.id)).id, secret.id);
    now = new Date('2024-03-01T11:00:00Z');
    try {
      await assert.rejects(service.getSecret(alice, secret.id), {
        code: 'NOT_FOUND',
        message: 'Secret not found.',
      });
    } finally {
      now = new Date('2024-03-01T10:00:00Z');
    }
    await assert.rejects(service.getSecret(alice, 'abc'), {
      message: 'Not Found. Provided secret id is invalid.',
    });
    await assert.rejects(service.getSecret(alice, secret.id.toUpperCase()), {
      message: 'Not Found. Provided secret id is invalid.',
    });
  });

  it('deletes for members of the project, after which the secret is gone', async () => {
    const secret = await certificate();
    await service.deleteSecret(amos, secret.id);
    await assert.rejects(service.getSecret(alice, secret.id), { code: 'NOT_FOUND' });
  });

  it('gives signature verification the stored bytes, null when there are none, FORBIDDEN when the caller may not read them', async () => {
    const secret = await certificate();
    const found = await service.getSecretForVerification(amos, secret.id);
    assert.deepEqual(found, {
      secretType: 'certificate',
      payload: Buffer.from('PEM BYTES'),
      contentType: 'application/octet-stream',
      creatorId: secret.creatorId,
      projectId: 'project-a',
    });
    assert.ok(secret.creatorId, 'the certificate records who stored it');
    // Barbican's 403, which cursive reports as "Unable to retrieve", not as "not found".
    await assert.rejects(service.getSecretForVerification(bob, secret.id), { code: 'FORBIDDEN' });
    await assert.rejects(service.getSecretForVerification(reader, secret.id), { code: 'FORBIDDEN' });
    assert.equal(await service.getSecretForVerification(alice, '5e0c4a3e-0000-4000-8000-000000000000'), null);
    assert.equal(await service.getSecretForVerification(alice, 'not-a-uuid'), null);
    const empty = await service.createSecret(alice, json({ secret_type: 'certificate' }));
    assert.equal(await service.getSecretForVerification(alice, empty.id), null);
  });

  it('records every ACL change in the event stream with the change, and a change that changes nothing not at all', async () => {
    const aclEvents = async (subjectId: string) =>
      (await db.query<{ event: string }>('SELECT event FROM event_outbox ORDER BY id'))
        .map((row) => JSON.parse(row.event))
        .filter((event) => event.type === 'secret.acl_changed' && event.subjectId === subjectId);
    const secret = await certificate();
    const updated = async () => (await service.getSecret(alice, secret.id)).updatedAt;
    now = new Date('2024-03-01T10:05:00Z');
    try {
      await service.changeAcl(alice, secret.id, {
        kind: 'replace',
        input: json({ read: { users: ['bob'] } }),
      });
      // PUT and PATCH stamp the secret itself, as Barbican does; a change naming nothing, or DELETE, does not.
      assert.equal(await updated(), '2024-03-01T10:05:00.000Z');
      now = new Date('2024-03-01T10:06:00Z');
      await service.changeAcl(alice, secret.id, {
        kind: 'update',
        input: json({ read: { 'project-access': false } }),
      });
      assert.equal(await updated(), '2024-03-01T10:06:00.000Z');
      now = new Date('2024-03-01T10:07:00Z');
      await service.changeAcl(alice, secret.id, { kind: 'update', input: json({}) });
      await service.changeAcl(adminA, secret.id, { kind: 'delete' });
      await service.changeAcl(adminA, secret.id, { kind: 'delete' });
      assert.equal(await updated(), '2024-03-01T10:06:00.000Z');
    } finally {
      now = new Date('2024-03-01T10:00:00Z');
    }
    const events = await aclEvents(secret.id);
    assert.deepEqual(
      events.map((event) => [event.actor.userId, event.details.change, event.details.acl]),
      [
        ['alice', 'replace', { read: { project_access: true, users: ['bob'] } }],
        ['alice', 'update', { read: { project_access: false, users: ['bob'] } }],
        ['root', 'delete', {}],
      ],
    );
    assert.equal(events[0].projectId, 'project-a');
  });

  it('refuses an ACL change it may not make before reading the body, and records nothing', async () => {
    const secret = await certificate();
    const before = await db.query('SELECT id FROM event_outbox');
    await assert.rejects(
      service.changeAcl(amos, secret.id, {
        kind: 'replace',
        input: { mediaType: 'text/plain', body: Buffer.from('x') },
      }),
      { code: 'FORBIDDEN' },
    );
    await assert.rejects(
      service.changeAcl(alice, secret.id, { kind: 'replace', input: json({ read: { users: 'bob' } }) }),
      { code: 'BAD_REQUEST' },
    );
    assert.equal((await db.query('SELECT id FROM event_outbox')).length, before.length);
    assert.deepEqual(await service.getAcl(alice, secret.id), []);
  });

  it('gives signature verification a certificate another project shared through its read ACL', async () => {
    const secret = await certificate();
    await assert.rejects(service.getSecretForVerification(bob, secret.id), { code: 'FORBIDDEN' });
    await service.changeAcl(alice, secret.id, { kind: 'replace', input: json({ read: { users: ['bob'] } }) });
    assert.deepEqual(
      (await service.getSecretForVerification(bob, secret.id))?.payload,
      Buffer.from('PEM BYTES'),
    );
    await service.changeAcl(alice, secret.id, {
      kind: 'replace',
      input: json({ read: { 'project-access': false } }),
    });
    await assert.rejects(service.getSecretForVerification(bob, secret.id), { code: 'FORBIDDEN' });
    await assert.rejects(service.getSecretForVerification(amos, secret.id), { code: 'FORBIDDEN' });
    assert.ok(await service.getSecretForVerification(alice, secret.id));
  });

  it("reads a configured trust anchor with the service's authority, whatever project owns it", async () => {
    const secret = await certificate();
    assert.deepEqual((await service.getTrustedSecret(secret.id))?.payload, Buffer.from('PEM BYTES'));
    assert.equal(await service.getTrustedSecret('5e0c4a3e-0000-4000-8000-000000000000'), null);
    assert.equal(await service.getTrustedSecret('not-a-uuid'), null);
  });
});
