import { runOne, runSimulations } from '../../../src/sim/simulator.js';

/**
 * Short versions of the CI sweeps (`.ci/run` runs the long ones through `dagger sim`):
 * the correct core stays safe and live, and each built-in defect is caught.
 */
describe('simulator on the correct core', () => {
  it.each([
    [4, 1],
    [7, 2],
  ])('n=%i with %i Byzantine members stays safe and live over mixed episodes', (nodes, byzantine) => {
    const report = runSimulations({ nodes, byzantine, seeds: 6, seed: 101 });
    expect(report.safetyViolations).toBe(0);
    expect(report.livenessFailures).toBe(0);
    expect(report.failedSeeds).toEqual([]);
    expect(report.submittedPayloads).toBeGreaterThan(300);
    expect(report.orderedPayloads).toBe(report.submittedPayloads);
  });

  it.each(['split-brain', 'crash-restart', 'membership', 'partition-third', 'partition-minority'] as const)(
    'survives the %s episode',
    (episode) => {
      const run = runOne(7, { nodes: 7, byzantine: 2, seeds: 1, episode });
      expect(run.episode).toBe(episode);
      expect(run.safetyViolations).toBe(0);
      expect(run.livenessFailures).toBe(0);
      expect(run.orderedPayloads).toBe(run.submittedPayloads);
    },
  );

  it('detects the split-brain forks it survives', () => {
    const run = runOne(3, { nodes: 7, byzantine: 2, seeds: 1, episode: 'split-brain' });
    expect(run.forksDetected).toBeGreaterThan(0);
    expect(run.safetyViolations).toBe(0);
  });

  it('rejects forged signatures and garbage without losing liveness', () => {
    const run = runOne(5, {
      nodes: 4,
      byzantine: 1,
      seeds: 1,
      episode: 'calm',
      behaviors: ['bad-signature', 'garbage'],
    });
    expect(run.rejectedEvents).toBeGreaterThan(0);
    expect(run.livenessFailures).toBe(0);
  });

  it('is deterministic: the same seed gives the same order hash', () => {
    const a = runSimulations({ nodes: 4, byzantine: 1, seeds: 2, seed: 42 });
    const b = runSimulations({ nodes: 4, byzantine: 1, seeds: 2, seed: 42 });
    const c = runSimulations({ nodes: 4, byzantine: 1, seeds: 2, seed: 43 });
    expect(a).toEqual(b);
    expect(c.orderHash).not.toBe(a.orderHash);
  });
});

describe('simulator catches a wrong core', () => {
  it.each(['threshold-half', 'no-fork-exclusion', 'first-branch-wins'] as const)(
    'mutant %s breaks safety under the split-brain adversary',
    (mutant) => {
      const report = runSimulations({ nodes: 7, byzantine: 2, seeds: 8, seed: 1, mutant });
      expect(report.safetyViolations).toBeGreaterThan(0);
    },
  );

  it('Byzantine stake at or above 1/3 that withholds stops liveness', () => {
    const report = runSimulations({ nodes: 4, byzantine: 2, seeds: 1, behaviors: ['withhold'] });
    expect(report.livenessFailures).toBe(1);
    expect(report.orderedPayloads).toBe(0);
  });
});
