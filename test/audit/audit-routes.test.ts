// The /audit/v1 API through Fastify's inject: signed head with the public key, entries pages, proofs
// that verify against the head, and an image history whose visibility follows the rules it is given.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { systemClock } from '../../src/app/clock.ts';
import {
  AuditLog,
  AuditReader,
  auditPublicKeyFromPem,
  createTreeHeadSigner,
  verifyAuditProofBundle,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHeadSignature,
} from '../../src/audit/index.ts';
import { AuthError } from '../../src/errors/index.ts';
import { type Credentials, defaultAuthorizer } from '../../src/identity/index.ts';
import { registerAuditRoutes } from '../../src/server/audit-routes.ts';
import { SqlAuditRepository, type SqlDatabase } from '../../src/storage/index.ts';
import { sqliteBackend } from '../storage/database-backends.ts';
import { testCredentials } from '../support/credentials.ts';

function credentials(userId: string, projectId: string, roles: string[], isAdmin = false): Credentials {
  return { ...testCredentials(userId, projectId, roles), isAdmin };
}

const TOKENS: Record<string, Credentials> = {
  admin: credentials('admin', 'admin-project', ['admin', 'member', 'reader'], true),
  auditor: credentials('carol', 'audit-project', ['auditor']),
  alice: credentials('alice', 'project-a', ['member', 'reader']),
  bob: credentials('bob', 'project-b', ['member', 'reader']),
};

describe('audit API /audit/v1', () => {
  const backend = sqliteBackend();
  let db: SqlDatabase;
  let app: FastifyInstance;
  let audit: AuditLog;
  const signer = createTreeHeadSigner(generateKeyPairSync('ed25519').privateKey);
  const key = auditPublicKeyFromPem(signer.publicKeyPem);
  const get = async (url: string, token = 'admin') => {
    const response = await app.inject({ method: 'GET', url, headers: { 'x-auth-token': token } });
    return { status: response.statusCode, body: response.json(), headers: response.headers };
  };

  before(async () => {
    db = await backend.open();
    audit = new AuditLog({ clock: systemClock, repository: new SqlAuditRepository(db), signer });
    for (let i = 0; i < 30; i++) {
      await audit.append({
        type: i === 0 ? 'image.created' : 'image.updated',
        actor: { userId: i % 2 ? 'alice' : 'bob', projectId: i % 2 ? 'project-a' : 'project-b' },
        projectId: i % 2 ? 'project-a' : 'project-b',
        subjectId: i % 2 ? 'image-a' : 'image-b',
        details: { step: i },
      });
    }
    app = Fastify();
    app.decorateRequest('credentials', undefined);
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const found = TOKENS[String(request.headers['x-auth-token'])];
      if (!found) throw new AuthError('UNAUTHENTICATED', 'Authentication required');
      request.credentials = found;
    });
    registerAuditRoutes(app, { reader: new AuditReader({ log: audit, authorizer: defaultAuthorizer }) });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await backend.dispose();
  });

  it('serves the signed tree head with the public key that verifies it', async () => {
    const { status, body, headers } = await get('/audit/v1/tree-head', 'alice');
    assert.equal(status, 200);
    assert.equal(body.tree_size, 30);
    assert.equal(body.key_id, signer.keyId);
    assert.equal(headers['cache-control'], 'no-store');
    assert.ok(verifyTreeHeadSignature(body, auditPublicKeyFromPem(body.public_key)));
  });

  it('refuses callers without a token', async () => {
    const response = await app.inject({ method: 'GET', url: '/audit/v1/tree-head' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().error.code, 'UNAUTHENTICATED');
  });

  it('pages entries for auditors and admins, capped, and refuses project members', async () => {
    const { status, body } = await get('/audit/v1/entries?start=5&end=9', 'auditor');
    assert.equal(status, 200);
    assert.deepEqual(
      body.entries.map((e: { seq: number }) => e.seq),
      [5, 6, 7, 8],
    );
    assert.equal(body.entries[0].event.details.step, 5);
    assert.equal((await get('/audit/v1/entries?start=0&end=5000')).body.entries.length, 30);
    assert.equal((await get('/audit/v1/entries?start=0', 'alice')).status, 403);
    assert.equal((await get('/audit/v1/entries?start=x')).body.error.code, 'INVALID_QUERY');
  });

  it('serves inclusion and consistency proofs that verify against the signed head', async () => {
    const head = (await get('/audit/v1/tree-head')).body;
    const proof = (await get(`/audit/v1/proofs/inclusion?seq=17&tree_size=${head.tree_size}`, 'alice')).body;
    assert.ok(
      verifyInclusion(
        Buffer.from(proof.leaf_hash, 'hex'),
        17,
        head.tree_size,
        proof.audit_path.map((h: string) => Buffer.from(h, 'hex')),
        Buffer.from(head.root_hash, 'hex'),
      ),
    );
    const consistency = (await get(`/audit/v1/proofs/consistency?first=11&second=${head.tree_size}`)).body;
    assert.ok(
      verifyConsistency(
        11,
        head.tree_size,
        Buffer.from(consistency.first_root, 'hex'),
        Buffer.from(head.root_hash, 'hex'),
        consistency.consistency_path.map((h: string) => Buffer.from(h, 'hex')),
      ),
    );
    assert.equal((await get('/audit/v1/proofs/inclusion?seq=1&tree_size=999')).status, 400);
    assert.equal((await get('/audit/v1/proofs/inclusion?tree_size=3')).status, 400);
  });

  it("gives an image's history with proofs to its project, and hides it from others", async () => {
    const { status, body } = await get('/audit/v1/images/image-a', 'alice');
    assert.equal(status, 200);
    assert.equal(body.entries.length, 15);
    assert.deepEqual(verifyAuditProofBundle(body, key), { ok: true, treeSize: 30, entries: 15 });
    assert.equal((await get('/audit/v1/images/image-a', 'bob')).status, 404);
    assert.equal((await get('/audit/v1/images/image-a', 'auditor')).status, 200);
    assert.equal((await get('/audit/v1/images/nothing-here')).status, 404);
  });
});
