/**
 * FHIR_AUTH=bearer: a static access token from the environment, sent as `Authorization: Bearer`.
 * https://www.rfc-editor.org/rfc/rfc6750
 */
import type { TokenProvider } from './token-provider.ts';

/**
 * @param token - The static token.
 * @returns A provider that always gives the token and cannot obtain another.
 */
export function bearerTokenProvider(token: string): TokenProvider {
  return {
    getToken: () => Promise.resolve(token),
    invalidate: () => false,
  };
}
