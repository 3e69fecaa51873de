/** `fhirmesh config show`: the fhir-server's effective configuration (GET /_admin/configuration, secrets redacted by the server). */
import type { Command } from 'commander';
import { withFhir, type CliContext } from '../context.ts';
import { answerError } from '../fhir-client.ts';

/** Registers `config` on `program`. */
export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description("the fhir-server's configuration");
  config
    .command('show')
    .description('print the effective configuration (JSON; secrets redacted; needs the Fhir.Admin role)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withFhir(cmd, ctx, async (fhir, connection) => {
        const answer = await fhir.request('GET', `${connection.fhirUrl()}/_admin/configuration`, { headers: { accept: 'application/json' } });
        if (answer.status !== 200) throw answerError(answer, 'the configuration request');
        ctx.io.out(JSON.stringify(JSON.parse(answer.body), null, 2));
      });
    });
}
