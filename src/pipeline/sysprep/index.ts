// Sysprep: named operations that plan changes over an image's files, and a runner that applies them.
export { SysprepError } from './errors.ts';
export { findHostKeyRegenerator, SYSPREP_OPERATIONS } from './operations.ts';
export {
  applySysprepChanges,
  planSysprep,
  type SysprepOptions,
  type SysprepResult,
  selectOperations,
  sysprepImage,
} from './runner.ts';
export type { SysprepAction, SysprepChange, SysprepContext, SysprepOperation } from './types.ts';
