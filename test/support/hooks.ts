/** uvu reports nothing about a throwing hook; these wrappers print the error first (the runner then fails the file). */

/** Wraps a before/after hook so its error is printed before uvu swallows it. */
export function loud<T extends unknown[]>(name: string, fn: (...args: T) => Promise<void> | void): (...args: T) => Promise<void> {
  return async (...args: T) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`\n${name} hook failed: ${(err as Error)?.stack ?? String(err)}\n`);
      throw err;
    }
  };
}
