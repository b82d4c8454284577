/** Shared by the runtime specs: consensus settings that decide rounds quickly, and a polling wait. */

export const FAST = {
  coinRoundFrequency: 10,
  membershipDelay: 6,
  pruneHorizon: 32,
  heartbeatMs: { active: 20, idle: 200, eager: 5 },
};

/** Polls `cond` every 50 ms until it holds or `ms` pass; answers its last value. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
