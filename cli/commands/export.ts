/** `fhirmesh export start|follow|download|run|cancel`: Bulk Data `$export` over the fhir-server's REST API. */
import { Option, type Command } from 'commander';
import { withFhir, type CliContext } from '../context.ts';
import { CliError, ExitCode } from '../errors.ts';
import { answerError, type FhirClient } from '../fhir-client.ts';
import { downloadManifest, type DownloadedFile } from '../export/download.ts';
import { followExport } from '../export/follow.ts';
import { startExport, type KickoffOptions } from '../export/kickoff.ts';
import { pollExport, type ExportManifest } from '../export/status.ts';
import { columns } from '../io.ts';
import { collect, collectWhole, positiveNumber } from '../parse.ts';

interface FollowFlags {
  quiet?: boolean;
  maxWait?: number;
  json?: boolean;
}

function kickoffOptions(command: Command): Command {
  return command
    .option('--type <types>', 'resource types to export (comma list, repeatable; default: all)', collect)
    .option('--since <instant>', 'only resources changed since: an instant with time zone, or an age such as 24h, 7d')
    .option('--until <instant>', 'only resources changed before this instant')
    .option('--type-filter <query>', 'a _typeFilter, e.g. "Observation?status=final" (repeatable)', collectWhole)
    .option('--group <id>', 'export the members of this Group (Group/[id]/$export)')
    .option('--patient <ids>', "export these patients' compartments (Patient/$export; comma list, repeatable)", collect)
    .addOption(new Option('--level <level>', 'system export, or every patient\'s compartment').choices(['system', 'patient']).default('system'))
    .option('--container <name>', 'container of the default storage account to write to')
    .option('--lenient', 'Prefer handling=lenient: unsupported parameters become notes instead of errors');
}

function followOptions(command: Command): Command {
  return command.option('--quiet', 'no progress on stderr').option('--max-wait <seconds>', 'give up following after this long (the export goes on)', positiveNumber);
}

function manifestSummary(manifest: ExportManifest): string[] {
  const byType = new Map<string, { files: number; count: number }>();
  for (const file of manifest.output) {
    const row = byType.get(file.type) ?? { files: 0, count: 0 };
    row.files += 1;
    row.count += file.count ?? 0;
    byType.set(file.type, row);
  }
  const total = manifest.output.reduce((n, f) => n + (f.count ?? 0), 0);
  return [
    ...columns([['TYPE', 'FILES', 'RESOURCES'], ...[...byType].map(([type, row]) => [type, String(row.files), String(row.count)])]),
    `export complete: ${manifest.output.length} files, ${total} resources, ${manifest.error.length} error files (transaction time ${manifest.transactionTime})`,
  ];
}

function downloadSummary(ctx: CliContext, files: DownloadedFile[], dir: string): void {
  for (const line of columns([['FILE', 'KIND', 'TYPE', 'RESOURCES', 'BYTES'], ...files.map((f) => [f.path, f.kind, f.type, String(f.lines), String(f.bytes)])])) ctx.io.out(line);
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const lines = files.filter((f) => f.kind === 'output').reduce((n, f) => n + f.lines, 0);
  ctx.io.out(`downloaded ${files.length} files, ${lines} resources, ${bytes} bytes into ${dir}`);
  const bad = files.filter((f) => f.problem);
  for (const f of bad) ctx.io.err(`mismatch: ${f.path}: ${f.problem}`);
  if (bad.length > 0) throw new CliError(`${bad.length} downloaded file(s) did not match what the server announced`, ExitCode.partial);
}

async function completedManifest(fhir: FhirClient, statusUrl: string): Promise<ExportManifest> {
  const poll = await pollExport(fhir, statusUrl);
  if (poll.state === 'done') return poll.manifest;
  const where = poll.state === 'running' ? poll.progress : poll.reason;
  throw new CliError(`the export is not complete yet (${where}); wait for it with: fhirmesh export follow ${statusUrl}`, ExitCode.conflict);
}

/** Registers `export` on `program`. */
export function registerExport(program: Command, ctx: CliContext): void {
  const exp = program.command('export').description('Bulk Data $export on the fhir-server (needs a bearer token with Fhir.Export)');

  kickoffOptions(exp.command('start').description('kick off an export and print its status URL')).action(async (opts: KickoffOptions, cmd: Command) => {
    await withFhir(cmd, ctx, async (fhir, connection) => {
      const started = await startExport(fhir, connection.fhirUrl(), opts);
      for (const note of started.notes) ctx.io.err(`note: ${note}`);
      ctx.io.out(started.statusUrl);
    });
  });

  followOptions(exp.command('follow').description('show progress until the export completes, then print its manifest summary').argument('<statusUrl>', 'status URL from export start'))
    .option('--json', 'print the manifest as JSON')
    .action(async (statusUrl: string, opts: FollowFlags, cmd: Command) => {
      await withFhir(cmd, ctx, async (fhir) => {
        const manifest = await followExport(fhir, statusUrl, { io: ctx.io, quiet: opts.quiet, ...(opts.maxWait ? { maxWaitSeconds: opts.maxWait } : {}) });
        if (opts.json) ctx.io.out(JSON.stringify(manifest, null, 2));
        else for (const line of manifestSummary(manifest)) ctx.io.out(line);
      });
    });

  exp
    .command('download')
    .description('download every file of a completed export (streamed; byte and resource counts checked)')
    .argument('<statusUrl>', 'status URL from export start')
    .option('--dir <dir>', 'folder to write the files to', 'export')
    .action(async (statusUrl: string, opts: { dir: string }, cmd: Command) => {
      await withFhir(cmd, ctx, async (fhir) => {
        const manifest = await completedManifest(fhir, statusUrl);
        downloadSummary(ctx, await downloadManifest(fhir, statusUrl, manifest, opts.dir), opts.dir);
      });
    });

  followOptions(kickoffOptions(exp.command('run').description('start an export, follow it, and download its files')))
    .option('--dir <dir>', 'folder to write the files to', 'export')
    .action(async (opts: KickoffOptions & FollowFlags & { dir: string }, cmd: Command) => {
      await withFhir(cmd, ctx, async (fhir, connection) => {
        const started = await startExport(fhir, connection.fhirUrl(), opts);
        for (const note of started.notes) ctx.io.err(`note: ${note}`);
        ctx.io.err(`export started: ${started.statusUrl}`);
        const manifest = await followExport(fhir, started.statusUrl, { io: ctx.io, quiet: opts.quiet, ...(opts.maxWait ? { maxWaitSeconds: opts.maxWait } : {}) });
        downloadSummary(ctx, await downloadManifest(fhir, started.statusUrl, manifest, opts.dir), opts.dir);
      });
    });

  exp
    .command('cancel')
    .description('cancel an export (DELETE on its status URL)')
    .argument('<statusUrl>', 'status URL from export start')
    .action(async (statusUrl: string, _opts: unknown, cmd: Command) => {
      await withFhir(cmd, ctx, async (fhir) => {
        const answer = await fhir.request('DELETE', statusUrl);
        if (answer.status === 404) throw new CliError(`no export at ${statusUrl} (already cancelled, expired, or another client's)`, ExitCode.notFound);
        if (answer.status !== 202 && answer.status !== 200) throw answerError(answer, 'the cancel request');
        ctx.io.out(`cancelled ${statusUrl}`);
      });
    });
}
