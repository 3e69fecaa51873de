/** `fhirmesh account token issue|list|revoke`: an account's refresh tokens, by the admin. */
import type { Command } from 'commander';
import { tokenInfoJson, tokenTable } from '../account-format.ts';
import { withRouting, type CliContext } from '../context.ts';
import { CliError, ExitCode } from '../errors.ts';
import { isoOrDash } from '../io.ts';
import { writeSecretFile } from '../secret-file.ts';

/** Registers `token` under the `account` command. */
export function registerAccountToken(account: Command, ctx: CliContext): void {
  const token = account.command('token').description("an account's refresh tokens (admin)");

  token
    .command('issue')
    .description('issue a new refresh token (a new family) for an account; the token goes to stdout, or to --out with mode 0600')
    .argument('<name>', 'account name')
    .option('--out <file>', 'write the token to this file (mode 0600, replaced atomically) instead of stdout')
    .action(async (name: string, opts: { out?: string }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing) => {
        const { client, metadata } = routing.accounts();
        const issued = await routing.call(client.issueRefreshToken, client, { accountName: name }, metadata);
        if (opts.out) writeSecretFile(opts.out, issued.refreshToken);
        else ctx.io.out(issued.refreshToken);
        const info = issued.info;
        ctx.io.err(`issued refresh token ${info?.tokenId ?? '-'} for account ${name} (expires ${isoOrDash(info?.expireTime)})${opts.out ? `; written to ${opts.out}` : ''}`);
      });
    });

  token
    .command('list')
    .description("list an account's refresh tokens (ids and states, never the tokens)")
    .argument('<name>', 'account name')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing) => {
        const { client, metadata } = routing.accounts();
        const listed = await routing.call(client.listRefreshTokens, client, { accountName: name }, metadata);
        if (opts.json) ctx.io.out(JSON.stringify(listed.tokens.map(tokenInfoJson), null, 2));
        else for (const line of tokenTable(listed.tokens)) ctx.io.out(line);
      });
    });

  token
    .command('revoke')
    .description("revoke one token's family (--token-id) or every refresh token of the account (--all)")
    .argument('<name>', 'account name')
    .option('--token-id <id>', 'revoke the family of this token (ids: fhirmesh account token list)')
    .option('--all', 'revoke every refresh token of the account')
    .action(async (name: string, opts: { tokenId?: string; all?: boolean }, cmd: Command) => {
      if (!opts.tokenId === !opts.all) throw new CliError('account token revoke needs exactly one of --token-id <id> or --all', ExitCode.usage);
      await withRouting(cmd, ctx, async (routing) => {
        const { client, metadata } = routing.accounts();
        const revoked = await routing.call(client.revokeRefreshTokens, client, { accountName: name, tokenId: opts.tokenId ?? '' }, metadata);
        ctx.io.out(`revoked ${revoked.revokedCount} refresh token(s) of account ${name}`);
      });
    });
}
