/**
 * The successor of a rotated refresh token, kept sealed in the rotated token's
 * document so that presenting the rotated token again (another instance, a
 * retry after a crash) returns the same successor instead of minting another.
 *
 * The key is derived (HKDF-SHA256) from the rotated token's own value, which
 * the registry never holds: whoever reads the registry sees a hash and a sealed
 * box, and only a caller presenting the rotated token can open it — the one
 * caller rotation would hand the successor to anyway. AES-256-GCM binds the
 * box to both documents' ids.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'fhirmesh refresh token successor v1';

function keyOf(parentToken: string, parentId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', parentToken, parentId, INFO, 32));
}

/** Seals `successorToken` under a key only `parentToken` opens. */
export function sealSuccessor(parentToken: string, parentId: string, successorId: string, successorToken: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(parentToken, parentId), iv);
  cipher.setAAD(Buffer.from(`${parentId}\n${successorId}`));
  const body = Buffer.concat([cipher.update(successorToken, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Opens a box made by {@link sealSuccessor}; undefined when `parentToken` is not the one it was sealed for. */
export function openSuccessor(parentToken: string, parentId: string, successorId: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keyOf(parentToken, parentId), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${parentId}\n${successorId}`));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
