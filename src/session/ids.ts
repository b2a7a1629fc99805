import { randomBytes } from "node:crypto";

/**
 * A session id: 128 bits from the OS CSPRNG, base64url (visible ASCII, as the
 * MCP spec requires for Mcp-Session-Id).
 */
export function newSessionId(): string {
  return randomBytes(16).toString("base64url");
}
