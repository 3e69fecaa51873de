/**
 * `fhirmesh`: the operator command line. Runs one command; a failure prints
 * one sentence on stderr (`--verbose` adds the stack) and exits with the code
 * of its kind (see errors.ts).
 */
import { CommanderError } from 'commander';
import { CliError, ExitCode, toCliError } from './errors.ts';
import { processIo } from './io.ts';
import { buildProgram } from './program.ts';

/** Runs `argv` (as `process.argv`) and resolves with the exit code. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx = { io: processIo, env };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version were asked for; anything else commander already explained on stderr.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
    }
    const failure = toCliError(error);
    ctx.io.err(`error: ${failure.message}`);
    if (argv.includes('--verbose')) ctx.io.err(String((failure.cause as Error | undefined)?.stack ?? failure.stack));
    return failure instanceof CliError ? failure.exitCode : ExitCode.failed;
  }
}

// Node's own warnings (e.g. DEP0123 for TLS to an IP address, which grpc-js does) are noise for an operator; --verbose shows them.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (process.argv.includes('--verbose')) process.stderr.write(`${warning.name}: ${warning.message}\n`);
});
process.exitCode = await runCli(process.argv);
