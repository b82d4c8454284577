/** The read models' public surface: the query port, the projector and how to open, rebuild and drop them. */
export * from './read-models.js';
export {
  dropReadModels,
  openReadModels,
  readModelSchemaDrift,
  rebuildReadModels,
  type GenesisHost,
  type GenesisMember,
  type Quota,
  type ReadModelsConfig,
  type ReadModelsTarget,
} from './open-read-models.js';
