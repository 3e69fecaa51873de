/** Runs the CLI as a child process (`node --import tsx cli/main.ts ...`) with a clean FHIRMESH_* environment. */
import { spawn } from 'node:child_process';
import { repoRoot } from '../../../dev/certs.ts';

/** What a run printed and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `fhirmesh <args>` with `env` (no inherited FHIRMESH_* settings, no mesh file unless given). */
export function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FHIRMESH_') && value !== undefined) base[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: repoRoot,
      env: { ...base, FHIRMESH_MESH_FILE: '', FORCE_COLOR: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** The stderr of a failed run is one sentence starting with "error:" (no stack trace). */
export function oneSentence(run: CliRun): boolean {
  const lines = run.stderr.trim().split('\n');
  return lines.length === 1 && lines[0]!.startsWith('error: ') && !/\n\s+at /.test(run.stderr);
}
