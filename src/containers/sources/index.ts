// Image sources: turn an image name into what the policy evaluator reads (manifest and signatures).
export {
  defaultLookaside,
  type OpenPolicyImageOptions,
  openPolicyImage,
  type PolicyImageSource,
  type SignatureStorage,
} from './image-source.ts';
export {
  type LookasideReadOptions,
  type LookasideSignatureUrl,
  lookasideAt,
  readLookasideSignatures,
} from './lookaside.ts';
export { parseStoredSignature, type StoredSignature } from './signature-blob.ts';
