// RFC 6962 Merkle tree hashing (§2.1): leaf and node hashes with domain-separating prefixes, tree heads for
// any size, audit paths and consistency proofs, and the RFC 9162 §2.1.3.2 / §2.1.4.2 verification algorithms.
import { createHash } from 'node:crypto';

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256 of the empty string: the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_TREE_ROOT: Buffer = createHash('sha256').digest();

/** SHA-256(0x00 || leaf). */
export function hashLeaf(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

/** SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly smaller than n (n >= 2), the split point of RFC 6962 §2.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * An append-only tree of leaf hashes that keeps every complete, aligned subtree's hash, so the root of
 * any size and any proof cost O(log n) lookups plus at most O(log² n) hashes along the ragged right edge,
 * never a walk over all leaves. `levels[h][i]` is the hash of leaves [i·2^h, (i+1)·2^h).
 */
export class MerkleTree {
  readonly #levels: Buffer[][] = [[]];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const hash of leafHashes) this.appendLeafHash(hash);
  }

  get size(): number {
    return this.#levels[0].length;
  }

  /** Appends one leaf by its hash (SHA-256(0x00 || leaf)); completes the parents it closes. */
  appendLeafHash(leafHash: Uint8Array): void {
    if (leafHash.length !== 32) throw new RangeError('A leaf hash is 32 bytes.');
    let node: Buffer = Buffer.from(leafHash);
    let index = this.#levels[0].length;
    this.#levels[0].push(node);
    for (let height = 0; index % 2 === 1; height++) {
      const left = this.#levels[height][index - 1];
      node = hashChildren(left, node);
      index = (index - 1) / 2;
      this.#levels[height + 1] ??= [];
      this.#levels[height + 1][index] = node;
    }
  }

  leafHash(index: number): Buffer {
    this.#checkIndex(index, this.size);
    return this.#levels[0][index];
  }

  /** MTH(D[0:size]) for any size up to the current one (a past tree head). */
  rootAt(size: number = this.size): Buffer {
    this.#checkSize(size);
    return size === 0 ? EMPTY_TREE_ROOT : this.#subtree(0, size);
  }

  /** PATH(m, D[0:size]) of RFC 6962 §2.1.1: the audit path of leaf `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    const path: Buffer[] = [];
    // Iterative form of the recursion: descend from the root, collecting siblings, then reverse so the
    // path runs leaf-side first as the RFC writes it.
    let lo = 0;
    let hi = size;
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      if (index < lo + k) {
        path.push(this.#subtree(lo + k, hi));
        hi = lo + k;
      } else {
        path.push(this.#subtree(lo, lo + k));
        lo += k;
      }
    }
    return path.reverse();
  }

  /** PROOF(m, D[0:n]) of RFC 6962 §2.1.2: proves the tree of size `first` is a prefix of the tree of `second`. */
  consistencyProof(first: number, second: number = this.size): Buffer[] {
    this.#checkSize(second);
    if (!Number.isSafeInteger(first) || first < 0 || first > second) {
      throw new RangeError(`No consistency proof from size ${first} to ${second}.`);
    }
    if (first === 0 || first === second) return [];
    const proof: Buffer[] = [];
    // SUBPROOF(m, D[lo:hi], b), unrolled: the right-hand siblings are collected on the way down.
    let lo = 0;
    let hi = second;
    let m = first;
    let complete = true;
    while (m !== hi - lo) {
      const k = splitPoint(hi - lo);
      if (m <= k) {
        proof.push(this.#subtree(lo + k, hi));
        hi = lo + k;
      } else {
        proof.push(this.#subtree(lo, lo + k));
        lo += k;
        m -= k;
        complete = false;
      }
    }
    // SUBPROOF(m, D[m], true) is empty; with b false the subtree's own hash is the first element.
    if (!complete) proof.push(this.#subtree(lo, hi));
    return proof.reverse();
  }

  /** MTH(D[lo:hi]) for 0 <= lo < hi <= size. */
  #subtree(lo: number, hi: number): Buffer {
    const n = hi - lo;
    // Aligned, complete subtrees are cached; only the ragged right edge of a past size is hashed.
    if ((n & (n - 1)) === 0 && lo % n === 0) {
      const height = Math.log2(n);
      const cached = this.#levels[height]?.[lo / n];
      if (cached) return cached;
    }
    const k = splitPoint(n);
    return hashChildren(this.#subtree(lo, lo + k), this.#subtree(lo + k, hi));
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) {
      throw new RangeError(`Tree size ${size} is outside 0..${this.size}.`);
    }
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new RangeError(`Leaf index ${index} is outside 0..${size - 1}.`);
    }
  }
}

/**
 * RFC 9162 §2.1.3.2: true when `proof` proves that `leafHash` is leaf `index` of the tree of `treeSize`
 * leaves whose root is `root`.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) {
    return false;
  }
  let fn = index;
  let sn = treeSize - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

/**
 * RFC 9162 §2.1.4.2: true when `proof` proves that the tree of `first` leaves with root `firstRoot` is a
 * prefix of the tree of `second` leaves with root `secondRoot`.
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    return false;
  }
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (first === second) return proof.length === 0 && same(firstRoot, secondRoot);
  // Every tree extends the empty one; there is nothing to prove (RFC 9162 leaves size 0 out).
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = [...proof];
  // When `first` is a power of two its root is the first node of the path.
  if ((first & (first - 1)) === 0) path.unshift(firstRoot);
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0];
  let sr: Uint8Array = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return same(fr, firstRoot) && same(sr, secondRoot) && sn === 0;
}
