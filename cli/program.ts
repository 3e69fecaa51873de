/** The `fhirmesh` command tree: global connection options and every command. */
import { Command } from 'commander';
import { registerAccount } from './commands/account.ts';
import { registerConfig } from './commands/config.ts';
import { registerExport } from './commands/export.ts';
import { registerLoad } from './commands/load.ts';
import { registerToken } from './commands/token.ts';
import type { CliContext } from './context.ts';
import { positiveNumber } from './parse.ts';

/** Builds the program; commander's exits become thrown `CommanderError`s (see main.ts). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('fhirmesh')
    .description('Operate a fhirmesh: accounts and tokens on the routing server, data and exports on the fhir-server.\nConnection settings: flag > environment > .local/mesh.json (written by npm start).')
    .option('--routing-address <host:port>', 'routing server (env FHIRMESH_ROUTING_ADDRESS)')
    .option('--ca-file <pem>', 'CA to trust for both servers (env FHIRMESH_CA_FILE; default: system CAs)')
    .option('--admin-token-file <file>', 'routing server admin token (env FHIRMESH_ADMIN_TOKEN or FHIRMESH_ADMIN_TOKEN_FILE)')
    .option('--refresh-token-file <file>', "the account's refresh token (env FHIRMESH_REFRESH_TOKEN_FILE)")
    .option('--fhir-url <url>', 'FHIR base URL of the fhir-server (env FHIRMESH_FHIR_URL)')
    .option('--bearer-token-file <file>', 'FHIR REST bearer token (env FHIRMESH_BEARER_TOKEN or FHIRMESH_BEARER_TOKEN_FILE)')
    .option('--timeout <seconds>', 'deadline of each call', positiveNumber, 30)
    .option('--verbose', 'show stack traces of failures')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true);
  registerAccount(program, ctx);
  registerToken(program, ctx);
  registerLoad(program, ctx);
  registerExport(program, ctx);
  registerConfig(program, ctx);
  program.addHelpText('after', '\nExit codes: 0 ok, 1 failed, 2 usage, 3 unavailable, 4 refused (credentials), 5 not found, 6 conflict, 7 invalid request, 8 partly failed.\nMore: docs/cli.md');
  return program;
}
