/**
 * The seam between the HTTP listener and the modern (2026-07-28) era: the
 * listener classifies a request once (src/protocol/era.ts) and hands modern
 * ones here. Implemented by ModernService (src/eras/modern/service.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Serves requests of the modern wire on the Streamable HTTP endpoint. */
export interface ModernWire {
  /**
   * Serves one HTTP request already classified modern. `body`: the raw body
   * when the legacy path had to read it to classify (absent: not read yet).
   */
  serve(req: IncomingMessage, res: ServerResponse, body?: string): Promise<void>;
  /**
   * True when `callerId` names a modern caller of this gateway (telemetry:
   * modern callers are in no session registry, yet their calls are metered
   * like everyone's).
   */
  ownsCaller(callerId: string): boolean;
}
