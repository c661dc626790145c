/**
 * Requests that get exactly one reply, paired by id: the asking side (a webview) keeps a promise per id; the answering
 * side (the host) replies with the same id, with a value or with an error (code + sentence). Used by every webview.
 */

/** A reply on the wire. */
export type Reply = { type: 'reply'; id: number; ok: true; value: unknown } | { type: 'reply'; id: number; ok: false; code: string; message: string };

/** The error a request's promise rejects with: the host's code and sentence. */
export class RequestFailed extends Error {
  override readonly name = 'RequestFailed';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The asking side: `Req` is a union tagged by `kind`, `Replies` maps each kind to what its reply carries. */
export class PendingRequests<Req extends { kind: string }, Replies extends { [K in Req['kind']]: unknown }> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly post: (id: number, request: Req) => void) {}

  request<K extends Req['kind']>(request: Extract<Req, { kind: K }>): Promise<Replies[K]> {
    const id = this.nextId++;
    return new Promise<Replies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post(id, request);
    });
  }

  /** Settles the request a reply answers; false when no request is waiting for that id. */
  settle(reply: Reply): boolean {
    const p = this.pending.get(reply.id);
    if (!p) return false;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new RequestFailed(reply.code, reply.message));
    return true;
  }

  /** Requests still waiting for a reply. */
  get size(): number {
    return this.pending.size;
  }
}

/** The answering side: runs `work` and turns its outcome (value or thrown error) into the reply for `id`. */
export async function answer(id: number, work: () => Promise<unknown>): Promise<Reply> {
  try {
    return { type: 'reply', id, ok: true, value: (await work()) ?? null };
  } catch (e) {
    const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ERROR';
    return { type: 'reply', id, ok: false, code, message: e instanceof Error ? e.message : String(e) };
  }
}
