/**
 * `DependencyMonitor`: what the routing server's outbound HTTP says about its
 * dependencies (Cosmos DB, Key Vault, Entra ID), for `/health`. It wraps the one
 * HTTP client every Azure SDK here sends through and files each answer under
 * the dependency whose host was called: a connection failure, a 5xx or a 429
 * marks it down with the reason, any other answer up. A dependency nobody has
 * called yet is `unknown`.
 */
import type { HttpClient, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/** One dependency as `/health` shows it. */
export interface DependencyState {
  /** Its name, e.g. "Key Vault". */
  name: string;
  /** Whether its last answer was usable. */
  state: 'up' | 'down' | 'unknown';
  /** Why it is down (status or error code; never a URL or a body). */
  reason?: string;
  /** When it entered this state (ISO). */
  since?: string;
}

interface Watched {
  name: string;
  host: string;
  state: DependencyState;
}

/** True when `host` is `known` or a regional name of it (`account-westeurope.documents.azure.com` for `account.documents.azure.com`). */
function sameService(host: string, known: string): boolean {
  if (host === known) return true;
  const dot = known.indexOf('.');
  return dot > 0 && host.startsWith(`${known.slice(0, dot)}-`) && host.endsWith(known.slice(dot));
}

/** See the module comment. */
export class DependencyMonitor {
  readonly #watched: Watched[];

  /** Watches the dependencies at these URLs (entries without a URL are skipped). */
  constructor(dependencies: ReadonlyArray<{ name: string; url: string | undefined }>) {
    this.#watched = dependencies
      .filter((d): d is { name: string; url: string } => Boolean(d.url))
      .map((d) => ({ name: d.name, host: new URL(d.url).host.toLowerCase(), state: { name: d.name, state: 'unknown' } }));
  }

  /** `client`, reporting each answer here. */
  observe(client: HttpClient): HttpClient {
    return {
      sendRequest: async (request: PipelineRequest): Promise<PipelineResponse> => {
        let response: PipelineResponse;
        try {
          response = await client.sendRequest(request);
        } catch (err) {
          if (!request.abortSignal?.aborted) this.#record(request.url, 'down', (err as { code?: string }).code ?? (err as Error).name ?? 'error');
          throw err;
        }
        const status = response.status;
        if (status >= 500 || status === 429) this.#record(request.url, 'down', `HTTP ${status}`);
        else this.#record(request.url, 'up');
        return response;
      },
    };
  }

  /** Every watched dependency. */
  snapshot(): DependencyState[] {
    return this.#watched.map((w) => ({ ...w.state }));
  }

  #record(url: string, state: 'up' | 'down', reason?: string): void {
    let host: string;
    try {
      host = new URL(url).host.toLowerCase();
    } catch {
      return;
    }
    const watched = this.#watched.find((w) => sameService(host, w.host));
    if (!watched) return;
    if (watched.state.state === state && watched.state.reason === reason) return;
    watched.state = { name: watched.name, state, ...(reason ? { reason } : {}), since: new Date().toISOString() };
  }
}
