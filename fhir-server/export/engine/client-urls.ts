/**
 * Client destinations as manifests show them: the job keeps its container's URL
 * stripped of any query (a SAS never reaches the job record), and each file is
 * listed as the blob's URL in that container. The client owns the container and
 * reads the blobs with its own credentials, so the URLs carry none.
 */
import { ExportError, type ExportDestination } from '../ports.ts';
import { blobNameOf, type JobRecord } from './job-record.ts';

/** `destination` with a client container URL reduced to https origin and path; refuses anything else. */
export function withCleanContainerUrl(destination: ExportDestination): ExportDestination {
  if (destination.kind !== 'client' || destination.containerUrl === undefined) return destination;
  let url: URL;
  try {
    url = new URL(destination.containerUrl);
  } catch {
    throw new ExportError('invalid', 'the destination container URL is not a URL');
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw new ExportError('invalid', 'the destination container URL must be a plain https URL');
  return { ...destination, containerUrl: `${url.origin}${url.pathname}`.replace(/\/+$/, '') };
}

/** The URL of file `fileName` of `job` in the client's container, when the job writes to one whose URL it knows. */
export function clientFileUrl(job: JobRecord, fileName: string): string | undefined {
  const destination = job.request.destination;
  if (destination.kind !== 'client' || !destination.containerUrl) return undefined;
  return `${destination.containerUrl}/${blobNameOf(job.id, fileName).split('/').map(encodeURIComponent).join('/')}`;
}
