// Sysprep's own refusals; disk and argument errors keep their families.
import { ImageTrustError } from '../../errors/index.ts';

/** An operation would leave the guest broken and was not forced. */
export class SysprepError extends ImageTrustError<'SYSPREP_REFUSED'> {
  constructor(message: string) {
    super('SYSPREP_REFUSED', message);
  }
}
