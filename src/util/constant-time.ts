/** Comparing a presented credential with the expected one without leaking either through timing. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();

/**
 * Constant-time string equality: compares SHA-256 digests, so the buffers always have the same length and neither the
 * content nor the length of the expected value leaks through timing.
 * @param presented - What the client sent.
 * @param expected - The secret.
 * @returns Whether they are equal.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}
