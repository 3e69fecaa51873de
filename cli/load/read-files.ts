/**
 * The resources of the files given to `fhirmesh load`: NDJSON line by line
 * (streamed); `.json` files as one resource, a batch/transaction Bundle sent
 * as it is, or the entries of another Bundle.
 * Folders contribute their `.ndjson` and `.json` files, sorted by name.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CliError, ExitCode } from '../errors.ts';

/** One resource and where it came from, or why a line could not be read. */
export type FileItem = { resource: Record<string, unknown>; where: string } | { bundle: Record<string, unknown>; where: string } | { error: string; where: string };

/** The files to read, folders expanded; a missing path is a usage error. */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new CliError(`no such file or folder: ${path}`, ExitCode.usage);
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith('.ndjson') || n.endsWith('.json')).sort();
      out.push(...names.map((n) => join(path, n)));
    } else out.push(path);
  }
  if (out.length === 0) throw new CliError(`no .ndjson or .json files in ${paths.join(', ')}`, ExitCode.usage);
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Yields the resources of `file`. */
export async function* readResources(file: string): AsyncGenerator<FileItem> {
  if (file.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      yield { error: `not JSON (${(error as Error).message})`, where: file };
      return;
    }
    if (isObject(parsed) && parsed.resourceType === 'Bundle' && (parsed.type === 'batch' || parsed.type === 'transaction')) {
      yield { bundle: parsed, where: file };
    } else if (isObject(parsed) && parsed.resourceType === 'Bundle' && Array.isArray(parsed.entry)) {
      let n = 0;
      for (const entry of parsed.entry as unknown[]) {
        n += 1;
        const resource = isObject(entry) ? entry.resource : undefined;
        if (isObject(resource)) yield { resource, where: `${file} entry ${n}` };
        else yield { error: 'entry has no resource', where: `${file} entry ${n}` };
      }
    } else if (isObject(parsed)) yield { resource: parsed, where: file };
    else yield { error: 'not a JSON object', where: file };
    return;
  }
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isObject(parsed)) yield { resource: parsed, where: `${file}:${n}` };
      else yield { error: 'not a JSON object', where: `${file}:${n}` };
    } catch {
      yield { error: 'not valid JSON', where: `${file}:${n}` };
    }
  }
}
