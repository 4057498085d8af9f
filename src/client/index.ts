// Client side: find and authenticate to the service as OpenStack's clients do, and call its APIs.

export type { DataResponse } from '../http/index.ts';
export {
  ImageApi,
  type ImageView,
  REPORT_KIND_NAMES,
  type ReleaseView,
  type ReportKindName,
  SecretApi,
  type SecretMaterial,
} from './api.ts';
export { type AuthFlags, type AuthOptions, cloudsYamlPaths, resolveAuthOptions } from './auth-options.ts';
export { type HttpResponse, Session } from './session.ts';
