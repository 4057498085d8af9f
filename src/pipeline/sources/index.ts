// Source media verification: signed checksum lists (GNU and BSD formats), resumable downloads hashed as
// they are written, and a content-addressed cache of verified files.

export type { SourceIndexEntry } from './cache.ts';
export {
  type ChecksumAlgorithm,
  type ChecksumEntry,
  type ChecksumListProblem,
  findChecksumEntry,
  type ParsedChecksumList,
  parseChecksumList,
} from './checksums.ts';
export {
  type DownloadOptions,
  type DownloadResult,
  downloadWithResume,
  readSourceDocument,
} from './download.ts';
export {
  type VerifiedChecksumList,
  type VerifyChecksumListOptions,
  verifyChecksumListSignature,
} from './signature.ts';
export {
  type ChecksumListTrust,
  digestsEqual,
  type FetchedSource,
  type FetchVerifiedSourceOptions,
  fetchVerifiedSource,
  fileNameOfUrl,
  findTrustedChecksum,
  type VerifiedSource,
  type VerifyLocalSourceOptions,
  verifyLocalSource,
} from './source-media.ts';
