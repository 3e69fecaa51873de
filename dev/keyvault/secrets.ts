/**
 * The vault's secrets in memory: versions per name (names case-insensitive,
 * versions 32 hex characters), attributes in unix seconds, and soft delete
 * (deleted secrets can be read, recovered or purged until their purge date).
 */
import { randomBytes } from 'node:crypto';
import { badParameter, deletedButRecoverable, deletedSecretNotFound, secretNotFound } from './errors.ts';

/** Attributes a caller may set. */
export interface SecretAttributesInput {
  enabled?: boolean;
  /** Not-before, unix seconds. */
  nbf?: number;
  /** Expiry, unix seconds. */
  exp?: number;
}

/** Body of "set secret". */
export interface SetSecretInput {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: SecretAttributesInput;
}

/** Body of "update secret properties". */
export interface UpdateSecretInput {
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: SecretAttributesInput;
}

/** One version of a secret. */
export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  /** Unix seconds. */
  created: number;
  /** Unix seconds. */
  updated: number;
}

/** A secret: its versions in creation order, and its deletion when soft-deleted. */
export interface SecretEntry {
  name: string;
  versions: SecretVersion[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

/** Key Vault's limit on a secret value (characters). */
export const maxSecretValueLength = 25 * 1024;
const namePattern = /^[0-9a-zA-Z-]{1,127}$/;

/** Rejects names Key Vault would not accept. */
export function checkSecretName(name: string): void {
  if (!namePattern.test(name)) rejectParameter(`The request URI contains an invalid name: ${name}`);
}

function rejectParameter(message: string): never {
  throw badParameter(message);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkTags(tags: unknown): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags)) rejectParameter('tags must be an object of strings');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > 15) rejectParameter('A secret may have at most 15 tags.');
  for (const [k, v] of entries) if (typeof v !== 'string') rejectParameter(`tag '${k}' must be a string`);
  return { ...(tags as Record<string, string>) };
}

function checkAttributes(attributes: unknown): SecretAttributesInput {
  if (attributes === undefined || attributes === null) return {};
  if (typeof attributes !== 'object' || Array.isArray(attributes)) rejectParameter('attributes must be an object');
  const a = attributes as Record<string, unknown>;
  const out: SecretAttributesInput = {};
  if (a.enabled !== undefined && a.enabled !== null) {
    if (typeof a.enabled !== 'boolean') rejectParameter('attributes.enabled must be a boolean');
    out.enabled = a.enabled;
  }
  for (const key of ['nbf', 'exp'] as const) {
    const v = a[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) rejectParameter(`attributes.${key} must be unix seconds`);
    out[key] = v;
  }
  return out;
}

/** Checks an untrusted "set secret" body. */
export function parseSetSecret(body: unknown): SetSecretInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) rejectParameter('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  if (typeof b.value !== 'string') rejectParameter("The parameter 'value' is required and must be a string.");
  if (b.value.length > maxSecretValueLength) rejectParameter(`The secret value exceeds the maximum length of ${maxSecretValueLength} characters.`);
  if (b.contentType !== undefined && b.contentType !== null && typeof b.contentType !== 'string') rejectParameter('contentType must be a string');
  const input: SetSecretInput = { value: b.value, attributes: checkAttributes(b.attributes) };
  if (typeof b.contentType === 'string') input.contentType = b.contentType;
  const tags = checkTags(b.tags);
  if (tags) input.tags = tags;
  return input;
}

/** Checks an untrusted "update secret properties" body. */
export function parseUpdateSecret(body: unknown): UpdateSecretInput {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) rejectParameter('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  const input: UpdateSecretInput = { attributes: checkAttributes(b.attributes) };
  if (b.contentType !== undefined && b.contentType !== null) {
    if (typeof b.contentType !== 'string') rejectParameter('contentType must be a string');
    input.contentType = b.contentType;
  }
  const tags = checkTags(b.tags);
  if (tags) input.tags = tags;
  return input;
}

/** In-memory secrets of one vault. */
export class SecretStore {
  private readonly entries = new Map<string, SecretEntry>();

  constructor(
    /** Days a deleted secret stays recoverable; 0 disables soft delete. */
    readonly recoverableDays: number,
  ) {}

  private purgeDue(): void {
    const now = nowSeconds();
    for (const [key, entry] of this.entries) if (entry.deleted && entry.deleted.scheduledPurgeDate <= now) this.entries.delete(key);
  }

  private live(name: string): SecretEntry {
    this.purgeDue();
    const entry = this.entries.get(name.toLowerCase());
    if (!entry || entry.deleted) throw secretNotFound(name);
    return entry;
  }

  private deleted(name: string): SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> } {
    this.purgeDue();
    const entry = this.entries.get(name.toLowerCase());
    if (!entry?.deleted) throw deletedSecretNotFound(name);
    return entry as SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> };
  }

  /** Adds a new version (creating the secret when new). */
  set(name: string, input: SetSecretInput): { entry: SecretEntry; version: SecretVersion } {
    checkSecretName(name);
    this.purgeDue();
    const key = name.toLowerCase();
    const existing = this.entries.get(key);
    if (existing?.deleted) throw deletedButRecoverable(existing.name);
    const entry = existing ?? { name, versions: [] };
    const now = nowSeconds();
    const version: SecretVersion = {
      version: randomBytes(16).toString('hex'),
      value: input.value,
      enabled: input.attributes?.enabled ?? true,
      created: now,
      updated: now,
    };
    if (input.contentType !== undefined) version.contentType = input.contentType;
    if (input.tags !== undefined) version.tags = input.tags;
    if (input.attributes?.nbf !== undefined) version.nbf = input.attributes.nbf;
    if (input.attributes?.exp !== undefined) version.exp = input.attributes.exp;
    entry.versions.push(version);
    this.entries.set(key, entry);
    return { entry, version };
  }

  /** A version of a live secret (the latest when `version` is empty). */
  get(name: string, version?: string): { entry: SecretEntry; version: SecretVersion } {
    const entry = this.live(name);
    const found = version ? entry.versions.find((v) => v.version === version.toLowerCase()) : entry.versions.at(-1);
    if (!found) throw secretNotFound(version ? `${name}/${version}` : name);
    return { entry, version: found };
  }

  /** Changes a version's properties (the value never changes). */
  update(name: string, version: string | undefined, input: UpdateSecretInput): { entry: SecretEntry; version: SecretVersion } {
    const found = this.get(name, version);
    const v = found.version;
    if (input.contentType !== undefined) v.contentType = input.contentType;
    if (input.tags !== undefined) v.tags = input.tags;
    if (input.attributes?.enabled !== undefined) v.enabled = input.attributes.enabled;
    if (input.attributes?.nbf !== undefined) v.nbf = input.attributes.nbf;
    if (input.attributes?.exp !== undefined) v.exp = input.attributes.exp;
    v.updated = nowSeconds();
    return found;
  }

  /** Live secrets, in name order. */
  list(): SecretEntry[] {
    this.purgeDue();
    return [...this.entries.values()].filter((e) => !e.deleted).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Versions of a live secret, in creation order. */
  versions(name: string): { entry: SecretEntry; versions: SecretVersion[] } {
    const entry = this.live(name);
    return { entry, versions: [...entry.versions] };
  }

  /** Deletes a secret: soft (recoverable) when `recoverableDays` > 0, else for good. */
  delete(name: string): SecretEntry {
    const entry = this.live(name);
    const now = nowSeconds();
    if (this.recoverableDays > 0) entry.deleted = { deletedDate: now, scheduledPurgeDate: now + this.recoverableDays * 86_400 };
    else this.entries.delete(name.toLowerCase());
    return entry;
  }

  /** A deleted secret. */
  getDeleted(name: string): SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> } {
    return this.deleted(name);
  }

  /** Deleted secrets, in name order. */
  listDeleted(): Array<SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> }> {
    this.purgeDue();
    return [...this.entries.values()]
      .filter((e): e is SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> } => e.deleted !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes a deleted secret for good. */
  purge(name: string): void {
    const entry = this.deleted(name);
    this.entries.delete(entry.name.toLowerCase());
  }

  /** Brings a deleted secret back. */
  recover(name: string): SecretEntry {
    const entry = this.deleted(name);
    const recovered: SecretEntry = entry;
    delete recovered.deleted;
    return entry;
  }
}
