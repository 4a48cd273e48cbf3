/**
 * Runs async tasks one at a time, in arrival order. The sandbox serialises every FHIR request through
 * one queue so that a transaction never interleaves with another request (the store has no MVCC).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
