export * from './config.js';
export * from './decide.js';
export * from './errors.js';
export * from './events.js';
export * from './evolve.js';
export * from './membership.js';
export * from './processor.js';
export * from './scheduler.js';
export * from './state.js';
export * from './state-root.js';
/** The canonical text rows and roots are hashed from. */
export { jcs } from '../canonical/jcs.js';
export {
  bucketOf,
  type DigestDepth,
  encodeRow,
  fnv1a,
  type Hash,
  innerNode,
  Journal,
  SortedSet,
  Table,
} from './table.js';
