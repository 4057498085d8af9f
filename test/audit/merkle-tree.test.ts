// The Merkle tree against RFC 6962: the Certificate Transparency test vectors, and every inclusion and
// consistency proof for trees up to 40 leaves checked by a separate, deliberately naive implementation
// written here from the RFC text (recursive MTH, PATH and SUBPROOF), not by the production code.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  EMPTY_TREE_ROOT,
  hashLeaf,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/index.ts';

// ---- The reference: RFC 6962 §2.1 transcribed as directly as possible. ----
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const refLeaf = (data: Buffer) => sha256(Buffer.from([0]), data);
const refNode = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
const refSplit = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function refMth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return refLeaf(d[0]);
  const k = refSplit(d.length);
  return refNode(refMth(d.slice(0, k)), refMth(d.slice(k)));
}
function refPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = refSplit(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
function refSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = refSplit(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}
const refProof = (m: number, d: Buffer[]) => (m === 0 || m === d.length ? [] : refSubproof(m, d, true));
/** Verifies an audit path by rebuilding the root the RFC 6962 way (recursing on the same split). */
function refRootFromPath(index: number, size: number, leafHash: Buffer, path: Buffer[]): Buffer | null {
  if (size === 1) return path.length === 0 ? leafHash : null;
  if (path.length === 0) return null;
  const k = refSplit(size);
  const sibling = path[path.length - 1];
  const rest = path.slice(0, -1);
  if (index < k) {
    const left = refRootFromPath(index, k, leafHash, rest);
    return left && refNode(left, sibling);
  }
  const right = refRootFromPath(index - k, size - k, leafHash, rest);
  return right && refNode(sibling, right);
}

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// ---- Certificate Transparency vectors (transparency-dev/merkle testonly, certificate-transparency-go). ----
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
const CT_CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const ctTree = () => new MerkleTree(CT_LEAVES.map(hashLeaf));

describe('MerkleTree (RFC 6962)', () => {
  it('gives the Certificate Transparency roots for every size 0..8, empty tree included', () => {
    assert.equal(hex(EMPTY_TREE_ROOT), CT_ROOTS[0]);
    const tree = ctTree();
    for (let n = 0; n <= 8; n++) assert.equal(hex(tree.rootAt(n)), CT_ROOTS[n], `size ${n}`);
    // The reference agrees, so it is a fair judge for the larger trees below.
    for (let n = 0; n <= 8; n++) assert.equal(hex(refMth(CT_LEAVES.slice(0, n))), CT_ROOTS[n]);
  });

  it('gives the Certificate Transparency audit paths, and they verify', () => {
    const tree = ctTree();
    for (const [index, size, path] of CT_INCLUSION) {
      assert.deepEqual(tree.inclusionProof(index, size).map(hex), path, `PATH(${index}, ${size})`);
      assert.ok(
        verifyInclusion(hashLeaf(CT_LEAVES[index]), index, size, path.map(unhex), unhex(CT_ROOTS[size])),
      );
    }
  });

  it('gives the Certificate Transparency consistency proofs, and they verify', () => {
    const tree = ctTree();
    for (const [first, second, proof] of CT_CONSISTENCY) {
      assert.deepEqual(tree.consistencyProof(first, second).map(hex), proof, `PROOF(${first}, ${second})`);
      assert.ok(
        verifyConsistency(first, second, unhex(CT_ROOTS[first]), unhex(CT_ROOTS[second]), proof.map(unhex)),
      );
    }
  });

  describe('every proof in trees of 1..40 leaves, against the reference implementation', () => {
    const N = 40;
    const data = Array.from({ length: N }, (_, i) => Buffer.from(`leaf-${i}-${'x'.repeat(i % 7)}`));
    const tree = new MerkleTree(data.map(refLeaf));
    const roots = Array.from({ length: N + 1 }, (_, n) => refMth(data.slice(0, n)));

    it('roots equal MTH for every size', () => {
      for (let n = 0; n <= N; n++) assert.deepEqual(tree.rootAt(n), roots[n], `size ${n}`);
    });

    it('audit paths equal PATH(m, D[n]), lead the reference back to the root, and pass verifyInclusion', () => {
      for (let n = 1; n <= N; n++) {
        for (let m = 0; m < n; m++) {
          const path = tree.inclusionProof(m, n);
          assert.deepEqual(path.map(hex), refPath(m, data.slice(0, n)).map(hex), `PATH(${m}, ${n})`);
          assert.deepEqual(refRootFromPath(m, n, refLeaf(data[m]), path), roots[n]);
          assert.ok(verifyInclusion(refLeaf(data[m]), m, n, path, roots[n]), `verify ${m} in ${n}`);
        }
      }
    });

    it('consistency proofs equal PROOF(m, D[n]) and pass verifyConsistency', () => {
      for (let n = 1; n <= N; n++) {
        for (let m = 0; m <= n; m++) {
          const proof = tree.consistencyProof(m, n);
          assert.deepEqual(proof.map(hex), refProof(m, data.slice(0, n)).map(hex), `PROOF(${m}, ${n})`);
          assert.ok(verifyConsistency(m, n, roots[m], roots[n], proof), `verify ${m} -> ${n}`);
        }
      }
    });

    it('rejects inclusion proofs with a wrong leaf, index, size, root or a flipped or missing hash', () => {
      for (let n = 1; n <= N; n++) {
        for (let m = 0; m < n; m++) {
          const path = tree.inclusionProof(m, n);
          const leaf = refLeaf(data[m]);
          assert.equal(verifyInclusion(refLeaf(Buffer.from('forged')), m, n, path, roots[n]), false);
          if (n > 1) assert.equal(verifyInclusion(leaf, (m + 1) % n, n, path, roots[n]), false);
          if (n < N) assert.equal(verifyInclusion(leaf, m, n + 1, path, roots[n + 1]), false);
          assert.equal(verifyInclusion(leaf, m, n, path, roots[n - 1]), false);
          assert.equal(verifyInclusion(leaf, m, n, [...path, roots[0]], roots[n]), false);
          if (path.length > 0) {
            assert.equal(verifyInclusion(leaf, m, n, path.slice(1), roots[n]), false);
            const flipped = path.map((h) => Buffer.from(h));
            flipped[0][0] ^= 1;
            assert.equal(verifyInclusion(leaf, m, n, flipped, roots[n]), false);
          }
        }
      }
      assert.equal(verifyInclusion(roots[1], 0, 0, [], roots[0]), false);
    });

    it('rejects consistency proofs with wrong roots, sizes or a flipped or missing hash', () => {
      for (let n = 2; n <= N; n++) {
        for (let m = 1; m < n; m++) {
          const proof = tree.consistencyProof(m, n);
          assert.equal(verifyConsistency(m, n, roots[m - 1], roots[n], proof), false, `first root ${m} ${n}`);
          assert.equal(
            verifyConsistency(m, n, roots[m], roots[n - 1], proof),
            false,
            `second root ${m} ${n}`,
          );
          assert.equal(verifyConsistency(m, n, roots[m], roots[n], proof.slice(1)), false);
          assert.equal(verifyConsistency(m, n, roots[m], roots[n], [...proof, roots[1]]), false);
          const flipped = proof.map((h) => Buffer.from(h));
          flipped[flipped.length - 1][0] ^= 1;
          assert.equal(verifyConsistency(m, n, roots[m], roots[n], flipped), false);
          if (m + 1 < n) assert.equal(verifyConsistency(m + 1, n, roots[m], roots[n], proof), false);
        }
      }
      assert.equal(verifyConsistency(3, 2, roots[3], roots[2], []), false);
      assert.equal(verifyConsistency(5, 5, roots[5], roots[4], []), false);
    });
  });

  it('keeps proofs logarithmic in a large tree', () => {
    const tree = new MerkleTree();
    for (let i = 0; i < 100_000; i++) tree.appendLeafHash(sha256(Buffer.from(String(i))));
    const path = tree.inclusionProof(12_345, 99_999);
    assert.ok(path.length <= 17);
    assert.ok(verifyInclusion(tree.leafHash(12_345), 12_345, 99_999, path, tree.rootAt(99_999)));
    const proof = tree.consistencyProof(77_777, 100_000);
    assert.ok(proof.length <= 34);
    assert.ok(verifyConsistency(77_777, 100_000, tree.rootAt(77_777), tree.rootAt(100_000), proof));
  });
});
