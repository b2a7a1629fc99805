// Client SDK authentication against a real gateway in JWT mode: a token the
// gateway calls expired is refreshed through getToken() and the client
// reconnects; an invalid token stops the client with a clear error.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import type { Gateway } from "../../src/gateway.js";
import { GatewayClient, GatewayClientError, type TokenRequest, type TransportKind } from "../../src/client/index.js";
import { connectClient, NodeWebSocket, startTestGateway } from "./helpers/harness.js";

const SECRET = "client-sdk-test-secret-0123456789abcdef";
const AUDIENCE = "mcp-gateway-test";

async function token(subject: string, expiresInS: number, secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "tools" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setAudience(AUDIENCE)
    .setIssuedAt(now - 120)
    .setExpirationTime(now + expiresInS)
    .sign(new TextEncoder().encode(secret));
}

let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway({ auth: { mode: "jwt", jwt: { secret: SECRET, audience: AUDIENCE, clock_tolerance: 0 } } }));
});

after(async () => {
  await gateway?.close();
});

for (const kind of ["websocket", "http_sse", "streamable_http"] as TransportKind[]) {
  describe(kind, () => {
    test("token_expired: refreshes the token through getToken() and connects", async () => {
      const asked: TokenRequest["reason"][] = [];
      const getToken = async ({ reason }: TokenRequest) => {
        asked.push(reason);
        return reason === "expired" ? token(`auth-${kind}`, 600) : token(`auth-${kind}`, -60);
      };
      const { client } = await connectClient({ url, transports: [kind], getToken });
      try {
        assert.deepEqual(asked.slice(0, 2), ["connect", "expired"]);
        const echo = (await client.callTool({ name: "echo", arguments: { text: "authed" } })) as { content: Array<{ text: string }> };
        assert.equal(echo.content[0]!.text, "authed");
      } finally {
        await client.close();
      }
    });

    test("invalid_token: stops and surfaces the error", async () => {
      let calls = 0;
      const transport = new GatewayClient({
        url,
        transports: [kind],
        WebSocket: NodeWebSocket,
        getToken: () => {
          calls++;
          return token(`auth-${kind}`, 600, "not-the-gateway-secret-0123456789abcdef");
        },
      });
      const errors: GatewayClientError[] = [];
      transport.on("error", (e) => errors.push(e));
      const failure = new Promise<void>((resolve) => transport.on("close", () => resolve()));
      const started = await transport.start().then(
        () => null,
        (e: unknown) => e,
      );
      if (kind === "streamable_http") {
        // Streamable HTTP only meets the gateway with the first POST.
        assert.equal(started, null);
        await transport.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
      } else {
        assert.ok(started instanceof GatewayClientError, "start() rejects");
        assert.equal(started.code, "authentication_failed");
      }
      await failure;
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof GatewayClientError);
      assert.equal(errors[0]!.code, "authentication_failed");
      assert.equal(errors[0]!.details.reason, "invalid_token");
      assert.equal(transport.state, "closed");
      assert.equal(calls, 1, "no refresh loop on an invalid token");
    });
  });
}
