// Backoff timing of the client SDK, with fake timers (node:test mock.timers):
// RobustEventSource per transport (1000 ms x 1.5^n, cap 30 s, reset on
// success, jitter), failover after failoverThreshold failures, and
// RecoveryManager for the whole client (1000 ms x 2^n, cap 60 s, give up
// after 10 attempts with an error and an event). No real sleeps.
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffDelay, GatewayClient, RECONNECT_POLICY, RECOVERY_POLICY, withJitter, type ClientWire, type GatewayClientError, type TransportKind, type WireFactory } from "../../src/client/index.js";
import { WireError, type WireEvents } from "../../src/client/wire.js";

describe("backoff arithmetic", () => {
  test("RobustEventSource: 1000 ms x 1.5^n, capped at 30 s, reset on success", () => {
    const b = new Backoff(RECONNECT_POLICY, () => 0.5);
    const delays = Array.from({ length: 11 }, () => b.next());
    assert.deepEqual(delays, [1000, 1500, 2250, 3375, 5063, 7594, 11391, 17086, 25629, 30000, 30000]);
    b.reset();
    assert.equal(b.next(), 1000);
  });

  test("RecoveryManager: 1000 ms x 2^n, capped at 60 s", () => {
    assert.deepEqual(
      Array.from({ length: 8 }, (_, n) => backoffDelay(RECOVERY_POLICY, n)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
    );
  });

  test("jitter stays within +-20% and under the cap", () => {
    assert.equal(withJitter(RECONNECT_POLICY, 1000, () => 0), 800);
    assert.equal(withJitter(RECONNECT_POLICY, 1000, () => 0.999999), 1200);
    assert.equal(withJitter(RECONNECT_POLICY, 30000, () => 0.999999), 30000);
    for (let i = 0; i < 100; i++) {
      const d = withJitter(RECONNECT_POLICY, 5000);
      assert.ok(d >= 4000 && d <= 6000, String(d));
    }
  });
});

/** Scripted wires: each connect does what the script says next ("fail" or "open"). */
function scripted(script: Array<"fail" | "open">) {
  const log: Array<{ kind: TransportKind; at: number; resume: boolean }> = [];
  const wires: Array<{ kind: TransportKind; events: WireEvents }> = [];
  let i = 0;
  const factory: WireFactory = (kind, _config, events) => {
    const wire: ClientWire = {
      kind,
      connect(resume) {
        log.push({ kind, at: Date.now(), resume: resume !== undefined });
        wires.push({ kind, events });
        const step = script[i++] ?? "fail";
        queueMicrotask(() => {
          if (step === "open") events.onOpen({ sessionId: "s1", resumed: resume !== undefined });
          else events.onClose(new WireError("refused", "connection refused"));
        });
      },
      send: () => Promise.resolve(),
      ack: () => {},
      close: () => {},
      abort: () => events.onClose(new WireError("heartbeat", "dead")),
    };
    return wire;
  };
  return { factory, log, wires };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/**
 * Advances fake time in steps so each timer's follow-up microtasks run (a
 * fired timer sees the time of the step it fired in: steps divide the delays).
 */
async function advance(ms: number, step = 125): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    // Zero-delay timers scheduled by the last step run before time moves on.
    mock.timers.tick(0);
    await flush();
    mock.timers.tick(Math.min(step, ms - t));
    await flush();
  }
}

const quiet = { heartbeatTimeoutMs: 0, pingIntervalMs: 0, random: () => 0.5 };

describe("client reconnect timing (fake timers)", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 0 }));
  afterEach(() => mock.timers.reset());

  test("per-transport backoff, failover after 3 failures, then a recovery round", async () => {
    const { factory, log } = scripted([]);
    const client = new GatewayClient({ url: "http://127.0.0.1:1", transports: ["websocket", "http_sse"], ...quiet }, factory);
    const switches: string[] = [];
    client.on("transport_switch", (e) => switches.push(`${e.from}->${e.to}`));
    const started = client.start().catch((e: GatewayClientError) => e);
    await flush();
    await advance(12_000);
    assert.deepEqual(
      log.slice(0, 9).map((e) => `${e.kind}@${e.at}`),
      [
        "websocket@0",
        "websocket@1000",
        "websocket@2500",
        "http_sse@2500", // 3 failures: switch at once
        "http_sse@3500",
        "http_sse@5000",
        "websocket@6000", // every transport failed: recovery attempt 1 waits 1000 ms
        "websocket@8250", // websocket's own backoff goes on where it was (2250 ms)
        "websocket@11625",
      ],
    );
    assert.deepEqual(switches.slice(0, 2), ["websocket->http_sse", "http_sse->websocket"]);
    await client.close();
    assert.equal(((await started) as GatewayClientError).code, "invalid_state");
  });

  test("gives up after 10 recovery attempts with an error and an event", async () => {
    const { factory, log } = scripted([]);
    const client = new GatewayClient({ url: "http://127.0.0.1:1", transports: ["streamable_http"], failoverThreshold: 1, ...quiet }, factory);
    const errors: GatewayClientError[] = [];
    const closes: unknown[] = [];
    client.on("error", (e) => errors.push(e));
    client.on("close", (e) => closes.push(e));
    let rejected: GatewayClientError | undefined;
    const started = client.start().catch((e: GatewayClientError) => (rejected = e));
    await flush();
    await advance(400_000, 1000);
    await started;
    assert.deepEqual(
      log.map((e) => e.at),
      [0, 1000, 3000, 7000, 15000, 31000, 63000, 123000, 183000, 243000, 303000],
      "2^n from 1000 ms, capped at 60 s: 1 try + 10 recovery attempts",
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, "max_recovery_attempts");
    assert.match(errors[0]!.message, /Max recovery attempts exceeded/);
    assert.equal(rejected?.code, "max_recovery_attempts");
    assert.equal(closes.length, 1);
    assert.equal(client.state, "closed");
  });

  test("backoff resets after a successful connection", async () => {
    const { factory, log, wires } = scripted(["fail", "fail", "open"]);
    const client = new GatewayClient({ url: "http://127.0.0.1:1", transports: ["websocket"], ...quiet }, factory);
    const started = client.start();
    await flush();
    await advance(3000);
    await started;
    assert.deepEqual(log.map((e) => e.at), [0, 1000, 2500]);
    // The open connection drops: the next attempt waits the base delay again, and resumes the session.
    const droppedAt = Date.now();
    wires.at(-1)!.events.onClose(new WireError("network", "reset by peer"));
    await flush();
    await advance(1000);
    assert.deepEqual(log.map((e) => e.at), [0, 1000, 2500, droppedAt + 1000]);
    assert.equal(log.at(-1)!.resume, true, "reconnects with the session to resume");
    await client.close();
  });

  test("a dead connection (no sign of life) is dropped and resumed", async () => {
    const { factory, log } = scripted(["open", "open"]);
    const client = new GatewayClient({ url: "http://127.0.0.1:1", transports: ["websocket"], heartbeatTimeoutMs: 10_000, pingIntervalMs: 0, random: () => 0.5 }, factory);
    const reasons: string[] = [];
    client.on("reconnecting", (e) => reasons.push(e.reason));
    await client.start();
    await advance(12_000, 500);
    assert.equal(log.length, 2);
    assert.match(reasons[0]!, /dead/);
    await client.close();
  });
});
