import { ReadModelsInitial1795000000000 } from './1795000000000-read-models-initial.js';

/** Every read-model migration, oldest first. */
export const readModelMigrations = [ReadModelsInitial1795000000000];
