import { cpuReport, cpuSample } from './cluster.js';

describe('cluster bench CPU figures', () => {
  it('reads the machine and a process from /proc, and both only grow', () => {
    const a = cpuSample([process.pid]);
    let spin = 0;
    for (const end = Date.now() + 60; Date.now() < end;) spin++;
    const b = cpuSample([process.pid]);
    expect(spin).toBeGreaterThan(0);
    expect(a && b).toBeTruthy();
    expect(b!.machineTotal).toBeGreaterThan(a!.machineTotal);
    expect(b!.machineBusy).toBeGreaterThanOrEqual(a!.machineBusy);
    expect(b!.nodes!).toBeGreaterThanOrEqual(a!.nodes!);
    expect(cpuSample([2 ** 22 + 7])?.nodes).toBeNull();
  });

  it('turns jiffies into a busy share and microseconds per payload', () => {
    const start = { machineBusy: 1_000, machineTotal: 5_000, nodes: 300 };
    const end = { machineBusy: 1_600, machineTotal: 5_800, nodes: 700 };
    expect(cpuReport(start, end, 2_000, true)).toEqual({
      machineBusyShare: 0.75,
      machineCpuUsPerPayload: 3_000,
      nodesCpuUsPerPayload: 2_000,
    });
    expect(cpuReport(start, end, 2_000, false)?.nodesCpuUsPerPayload).toBeNull();
    expect(cpuReport(null, end, 2_000, true)).toBeNull();
  });
});
