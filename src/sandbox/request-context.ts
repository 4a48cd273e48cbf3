/**
 * Per-request context of the sandbox HTTP layer, carried with AsyncLocalStorage so that the repository's
 * commit listener (which knows nothing about HTTP) can tell which request a write belongs to.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WriteEvent } from './memory-store.ts';

export interface SandboxRequestContext {
  /** Everything this request wrote (including `unchanged` writes), in order, once committed. */
  readonly events: WriteEvent[];
  /** Resolves when the response has been sent (or the connection closed); notifications wait for it. */
  readonly answered: Promise<void>;
}

const storage = new AsyncLocalStorage<SandboxRequestContext>();

export function runInRequestContext<T>(context: SandboxRequestContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn);
}

export function currentRequestContext(): SandboxRequestContext | undefined {
  return storage.getStore();
}
