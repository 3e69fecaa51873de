/** `fhirmesh token rotate|get`: what an account does with its own refresh token. */
import type { Command } from 'commander';
import { withRouting, type CliContext } from '../context.ts';
import { columns, isoOrDash } from '../io.ts';
import { writeSecretFile } from '../secret-file.ts';

function inWords(date: Date | undefined): string {
  if (!date) return '-';
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const text = abs >= 3600 ? `${(abs / 3600).toFixed(1)} h` : abs >= 60 ? `${Math.round(abs / 60)} min` : `${abs} s`;
  return `${date.toISOString()} (${seconds >= 0 ? `in ${text}` : `${text} ago`})`;
}

/** Registers `token` on `program`. */
export function registerToken(program: Command, ctx: CliContext): void {
  const token = program.command('token').description("an account's own tokens (authenticated by its refresh token file)");

  token
    .command('rotate')
    .description('rotate the refresh token: the file is replaced atomically with the new token; the old one stays valid for the grace window')
    .option('--out <file>', 'write the new token here instead of replacing the refresh token file')
    .action(async (opts: { out?: string }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing, connection) => {
        const file = connection.refreshTokenFile();
        const { client, metadata } = routing.refreshTokens(connection.refreshToken());
        const rotated = await routing.call(client.rotateRefreshToken, client, {}, metadata);
        writeSecretFile(opts.out ?? file, rotated.refreshToken);
        for (const line of columns([
          ['rotated to', rotated.tokenId],
          ['written to', opts.out ?? file],
          ['expires', isoOrDash(rotated.expireTime)],
          ['previous token valid until', isoOrDash(rotated.previousTokenValidUntil)],
        ])) ctx.io.out(line);
      });
    });

  token
    .command('get')
    .description("get an access token for a resource with the account's managed identity (TokenService.GetToken); shows its expiry, not the token")
    .argument('<resource>', 'resource URI, e.g. https://storage.azure.com')
    .option('--show-token', 'print the access token itself on stdout (the details go to stderr)')
    .option('--json', 'print the details as JSON (with accessToken only when --show-token)')
    .action(async (resource: string, opts: { showToken?: boolean; json?: boolean }, cmd: Command) => {
      await withRouting(cmd, ctx, async (routing, connection) => {
        const { client, metadata } = routing.tokens(connection.refreshToken());
        const got = await routing.call(client.getToken, client, { resourceUri: resource }, metadata);
        if (opts.json) {
          const json = { resourceUri: got.resourceUri, tokenType: got.tokenType, expiresOn: isoOrDash(got.expiresOn), refreshAfter: isoOrDash(got.refreshAfter), ...(opts.showToken ? { accessToken: got.accessToken } : {}) };
          ctx.io.out(JSON.stringify(json, null, 2));
          return;
        }
        const details = columns([
          ['resource', got.resourceUri],
          ['token type', got.tokenType],
          ['expires on', inWords(got.expiresOn)],
          ['refresh after', inWords(got.refreshAfter)],
        ]);
        for (const line of details) (opts.showToken ? ctx.io.err : ctx.io.out)(line);
        if (opts.showToken) ctx.io.out(got.accessToken);
      });
    });
}
