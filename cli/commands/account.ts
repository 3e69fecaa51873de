/** `fhirmesh account provision|update|show|list` over the routing server's admin AccountService. */
import { Option, type Command } from 'commander';
import type { Account } from '../../gen/fhirmesh/routing/v1/account.ts';
import { accountJson, accountLines, accountTable } from '../account-format.ts';
import { accountToCreate, accountUpdate, credentialKindNames, type AccountOptions } from '../account-input.ts';
import { withRouting, type CliContext } from '../context.ts';
import { addExportOptions } from '../export-config-input.ts';
import { collect } from '../parse.ts';
import { registerAccountToken } from './account-token.ts';

function identityOptions(command: Command, forUpdate: boolean): Command {
  return command
    .option('--display-name <text>', 'human-readable name (default: the account name)')
    .option('--client-id <id>', 'application (client) id of the managed identity in Entra ID')
    .option('--secret-name <name>', 'Key Vault secret holding the identity\'s credential (mi-secretName)')
    .option('--tenant-id <id>', 'Entra ID tenant of the identity (env FHIRMESH_TENANT_ID)')
    .addOption(new Option('--credential-kind <kind>', 'what the secret holds').choices(credentialKindNames).default(forUpdate ? undefined : 'auto'))
    .option('--allowed-resource <uri>', `resource URI the identity may get tokens for (repeatable, comma lists${forUpdate ? '; replaces the list' : ''})`, collect);
}

function show(ctx: CliContext, account: Account, json: boolean | undefined): void {
  if (json) ctx.io.out(JSON.stringify(accountJson(account), null, 2));
  else for (const line of accountLines(account)) ctx.io.out(line);
}

/** Registers `account` and its subcommands on `program`. */
export function registerAccount(program: Command, ctx: CliContext): void {
  const account = program.command('account').description('provision and inspect accounts (routing server AccountService; needs the admin token)');

  const provision = identityOptions(account.command('provision').description('create an account: its managed identity (Key Vault secret + client id), allowed resources and export overrides').argument('<name>', 'account name (3-63 of a-z, 0-9, -)'), false)
    .option('--disabled', 'create it disabled (it gets no tokens until enabled)')
    .option('--json', 'print the stored account as JSON');
  addExportOptions(provision, false).action(async (name: string, opts: AccountOptions & { json?: boolean }, cmd: Command) => {
    await withRouting(cmd, ctx, async (routing, connection) => {
      const request = { account: accountToCreate(name, opts, connection.tenantId()) };
      const { client, metadata } = routing.accounts();
      const created = await routing.call(client.createAccount, client, request, metadata);
      if (!opts.json) ctx.io.err(`provisioned account ${name}; issue its refresh token with: fhirmesh account token issue ${name} --out <file>`);
      show(ctx, created.account!, opts.json);
    });
  });

  const update = identityOptions(account.command('update').description('change an account: only the fields given change (export overrides merge with the current ones)').argument('<name>', 'account name'), true)
    .option('--enable', 'set the account active')
    .option('--disable', 'disable the account (its tokens are refused)')
    .option('--json', 'print the stored account as JSON');
  addExportOptions(update, true).action(async (name: string, opts: AccountOptions & { json?: boolean }, cmd: Command) => {
    await withRouting(cmd, ctx, async (routing) => {
      const { client, metadata } = routing.accounts();
      const current = await routing.call(client.getAccount, client, { name }, metadata);
      const request = accountUpdate(current.account!, opts);
      const updated = await routing.call(client.updateAccount, client, request, metadata);
      if (!opts.json) ctx.io.err(`updated account ${name}: ${request.updateMask.join(', ')}`);
      show(ctx, updated.account!, opts.json);
    });
  });

  account
    .command('show')
    .description('show one account')
    .argument('<name>', 'account name')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing) => {
        const { client, metadata } = routing.accounts();
        show(ctx, (await routing.call(client.getAccount, client, { name }, metadata)).account!, opts.json);
      });
    });

  account
    .command('list')
    .description('list every account, ordered by name')
    .option('--json', 'print as a JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing) => {
        const { client, metadata } = routing.accounts();
        const all: Account[] = [];
        let pageToken = '';
        do {
          const page = await routing.call(client.listAccounts, client, { pageSize: 500, pageToken }, metadata);
          all.push(...page.accounts);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (opts.json) ctx.io.out(JSON.stringify(all.map(accountJson), null, 2));
        else for (const line of accountTable(all)) ctx.io.out(line);
      });
    });

  registerAccountToken(account, ctx);
}
