// Runs the ImageRepository contract on both metadata backends: SQLite in a temporary file and
// PostgreSQL on loopback (a fresh schema per test; the suite fails, never skips, without a server).
import { after, before, describe } from 'node:test';
import { databaseBackends } from './database-backends.ts';
import { describeImageRepositoryContract } from './image-repository.contract.ts';

for (const backend of databaseBackends()) {
  describe(`SqlImageRepository on ${backend.name}`, () => {
    before(() => backend.ready());
    after(() => backend.dispose());
    describeImageRepositoryContract('ImageRepository contract', () => backend.open());
  });
}
