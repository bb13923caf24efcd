import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

const TAG_LENGTH = 22;

/**
 * MCP session ids that any sidecar of one deployment can recognise: a random id and an HMAC of it
 * under a key derived from the deployment's secret (FILES_API_SECRET, else MCP_API_KEY). A sidecar
 * that never saw a session accepts its id only when the tag checks out, so a host that reaches
 * another sidecar keeps its session (and the session's chat), and an invented id is still a 404.
 * Without a secret, ids are unsigned and a session lives only on the sidecar that opened it.
 */
export class SessionIds {
  readonly #key: Buffer | null;

  constructor(secret: string | null) {
    this.#key = secret ? createHmac('sha256', secret).update('generated-files mcp session id').digest() : null;
  }

  /** Whether another sidecar's sessions can be taken over here. */
  get portable(): boolean {
    return this.#key !== null;
  }

  mint(): string {
    const id = randomUUID();
    return this.#key ? `${id}_${this.#tag(id)}` : id;
  }

  /** True for an id some sidecar with the same secret minted. */
  isOurs(sessionId: string): boolean {
    if (!this.#key) return false;
    // The id part is a UUID (no '_'); the base64url tag may itself hold '_', so split at the first.
    const at = sessionId.indexOf('_');
    if (at === -1) return false;
    const given = Buffer.from(sessionId.slice(at + 1));
    const expected = Buffer.from(this.#tag(sessionId.slice(0, at)));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #tag(id: string): string {
    return createHmac('sha256', this.#key!).update(id).digest('base64url').slice(0, TAG_LENGTH);
  }
}
