// The build's errors come from the one catalogue.
export { BuildError } from '../../errors/index.ts';
