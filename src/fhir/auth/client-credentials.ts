/**
 * FHIR_AUTH=client-credentials: OAuth 2.0 client credentials grant with a shared secret,
 * sent as client_secret_basic (HTTP Basic, the default) or client_secret_post (form fields).
 * https://www.rfc-editor.org/rfc/rfc6749#section-4.4 and section 2.3.1
 */
import { cachedTokenProvider, type FetchFn, requestToken, type TokenProvider } from './token-provider.ts';

export interface ClientCredentialsOptions {
  /** The token endpoint (possibly discovered on first use). */
  tokenUrl: () => Promise<string>;
  clientId: string;
  clientSecret: string;
  scope: string;
  clientAuthMethod: 'basic' | 'post';
  fetch: FetchFn;
  timeoutMs: number;
  now?: () => number;
}

/** RFC 6749 2.3.1: id and secret are form-urlencoded before being joined for HTTP Basic. */
function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64');
}

/**
 * @param options - Token endpoint, client credentials, scope, fetch.
 * @returns A provider caching the token until shortly before it expires.
 */
export function clientCredentialsTokenProvider(options: ClientCredentialsOptions): TokenProvider {
  return cachedTokenProvider(async () => {
    const tokenUrl = await options.tokenUrl();
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) form.set('scope', options.scope);
    const headers: Record<string, string> = {};
    if (options.clientAuthMethod === 'basic') {
      headers.Authorization = `Basic ${basicCredentials(options.clientId, options.clientSecret)}`;
    } else {
      form.set('client_id', options.clientId);
      form.set('client_secret', options.clientSecret);
    }
    return requestToken(options.fetch, tokenUrl, form, headers, options.timeoutMs);
  }, options.now);
}
