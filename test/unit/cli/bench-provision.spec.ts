import { dagger } from './support.js';

/** Option checks only: the bench itself needs a real libvirt (docs/BENCHMARKS.md). */
describe('dagger bench provision options', () => {
  it.each([
    [['--vms', '0'], '--vms'],
    [['--vms', '101'], '--vms'],
    [['--nodes', '0'], '--nodes'],
    [['--port', '70000'], '--port'],
    [['--libvirt-domain-type', 'xen'], '--libvirt-domain-type'],
  ])('refuses %j naming the option', async (args, option) => {
    const r = await dagger(['bench', 'provision', ...args]);
    expect(r.error?.code).toBe('commander.invalidArgument');
    expect(r.err).toContain(option);
  });

  it('refuses a URI that is not a libvirt URI before touching anything', async () => {
    const r = await dagger(['bench', 'provision', '--libvirt-uri', 'none']);
    expect(r.error).toBeDefined();
    expect(r.err).toContain('--libvirt-uri none is not a libvirt URI');
  });
});
