/**
 * Preloaded into every test file by test/run.ts: on SIGUSR2 it prints what keeps
 * the process alive (active handles with their addresses, child processes with
 * their command), so a file that lingers after its summary says why before the
 * runner kills it.
 */
process.on('SIGUSR2', () => {
  const lines = [`open handles in ${process.argv[1]}: ${process.getActiveResourcesInfo().join(', ')}`];
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const handle of handles) {
    if (handle === process.stdout || handle === process.stderr || handle === process.stdin) continue;
    const h = handle as Record<string, unknown> & { constructor: { name: string } };
    if (h.constructor.name === 'Timeout' || h.constructor.name === 'Immediate') continue; // named in the first line already
    const parts: string[] = [h.constructor.name];
    if (typeof h.remoteAddress === 'string') parts.push(`remote ${h.remoteAddress}:${h.remotePort}`);
    if (typeof h.localPort === 'number') parts.push(`local ${h.localPort}`);
    if (typeof h.address === 'function' && !h.remoteAddress) {
      try {
        parts.push(`listening ${JSON.stringify((h.address as () => unknown).call(h))}`);
      } catch {
        /* not bound */
      }
    }
    if (Array.isArray(h.spawnargs)) parts.push(`pid ${h.pid} ${(h.spawnargs as string[]).slice(-2).join(' ')}`);
    lines.push(`  ${parts.join(' ')}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
});
