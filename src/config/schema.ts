import type * as Zod from "zod";
import type { z } from "zod";
import { forgetPackage, requireForgettable } from "../lazy-packages.js";

/**
 * The schemas are built on first use from zod's CommonJS build, and a running gateway drops them (and zod) once it
 * listens (releaseConfigSchemas): zod and the built schemas are ~3 MB of heap that only validation needs, and a
 * runtime config change (ConfigStore.set) is rare enough to pay for loading them again
 * (docs/adr/0200-memory-per-idle-session.md, start-up).
 */

function defineSchemas(z: typeof Zod.z) {
  /**
   * The gateway's configuration schema. Key names follow the operator's guide
   * (snake_case: `pool`, `websocket`, `http_sse`, `routing`, `rate_limiting`, ...).
   * Every section has defaults, so an empty file (or none) is a valid config.
   * Objects are strict: an unknown key is a typo, and we name it at start-up.
   */

  // Generic helper: TypeScript cannot prove `{}` satisfies an arbitrary shape, but every key has a default.
  const section = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as never);
  const ms = () => z.number().int().nonnegative();
  const positive = () => z.number().int().positive();

  /** One replica URL of a network upstream, with an optional hash-ring weight. */
  const replicaUrl = z.union([
    z.string().url(),
    z.strictObject({ url: z.string().url(), weight: positive().default(1) }),
  ]);

  /** An upstream MCP server. `transport` selects which other keys apply. */
  const upstreamSchema = z
    .strictObject({
      /** Unique name; also the namespace prefix of its tools and prompts. */
      name: z.string().regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, _ and -"),
      /** How the gateway reaches it. */
      transport: z.enum(["stdio", "streamable_http", "sse", "websocket"]),
      /** stdio: the program to spawn. */
      command: z.string().optional(),
      /** stdio: its arguments. */
      args: z.array(z.string()).default([]),
      /** stdio: extra environment (the child gets only PATH/HOME plus these). */
      env: z.record(z.string(), z.string()).default({}),
      /** stdio: working directory. */
      cwd: z.string().optional(),
      /** stdio: how many child processes (replicas) to run. */
      replicas: positive().default(1),
      /** network: the server's URL. */
      url: z.string().url().optional(),
      /** network: several replica URLs (with optional weights). */
      urls: z.array(replicaUrl).optional(),
      /** network: headers sent upstream (credentials for this upstream; never a client's token). */
      headers: z.record(z.string(), z.string()).default({}),
      /** Per-request timeout for this upstream (ms); defaults to routing.request_timeout. */
      request_timeout: ms().optional(),
      /** Per-tool timeout overrides (ms), by the tool's upstream name. */
      tool_timeouts: z.record(z.string(), ms()).default({}),
      /** Overrides routing.prefix for this upstream. */
      prefix: z.enum(["always", "conditional", "never"]).optional(),
      /**
       * shared: one upstream session per replica serves every client (stateless servers).
       * per_client: each client gets its own upstream session (own roots, log level,
       * subscriptions, server state); see docs/adr/0120-roots-and-upstream-session-modes.md.
       */
      session_mode: z.enum(["shared", "per_client"]).default("shared"),
      /** per_client only: limits on the clients' own upstream sessions. */
      per_client: z
        .strictObject({
          /** Most client sessions open at once on this upstream; past it the least recently used idle one is closed, or the call is refused. */
          max_sessions: positive().default(50),
          /** A client's upstream session with nothing in flight for this long is closed (ms). */
          idle_timeout: ms().default(300_000),
        })
        .default({ max_sessions: 50, idle_timeout: 300_000 }),
      /**
       * Which MCP era the gateway speaks to this upstream. `auto` probes with
       * `server/discover` (2026-07-28) and falls back to `initialize`; `modern`
       * requires discover; `legacy` only runs `initialize`. SSE and WebSocket
       * upstreams have no modern binding: `auto` means legacy there.
       */
      protocol: z.enum(["auto", "legacy", "modern"]).default("auto"),
      /** Overrides integrity.mode / integrity.scan for this upstream (docs/integrity.md). */
      integrity: z
        .strictObject({
          mode: z.enum(["off", "record", "enforce"]).optional(),
          scan: z.enum(["off", "warn", "block"]).optional(),
        })
        .optional(),
    })
    .superRefine((u, ctx) => {
      if (u.protocol === "modern" && (u.transport === "sse" || u.transport === "websocket")) {
        ctx.addIssue({ code: "custom", path: ["protocol"], message: `protocol "modern" needs a stdio or streamable_http upstream (MCP 2026-07-28 has no ${u.transport} binding)` });
      }
      if (u.transport === "stdio" && !u.command) {
        ctx.addIssue({ code: "custom", path: ["command"], message: "stdio upstreams need a command" });
      }
      if (u.transport !== "stdio" && !u.url && !(u.urls && u.urls.length)) {
        ctx.addIssue({ code: "custom", path: ["url"], message: `${u.transport} upstreams need a url (or urls)` });
      }
    });

  /** The whole configuration file. */
  const configSchema = z
    .strictObject({
      /** dev binds 127.0.0.1 and allows default secrets; prod refuses them. */
      profile: z.enum(["dev", "test", "prod"]).default("dev"),
      /** Verbose logging of everything (runtime-changeable). */
      debug: z.boolean().default(false),
      /** Log each connect/disconnect (runtime-changeable). */
      log_connections: z.boolean().default(true),
      /** Log each relayed message (runtime-changeable; costly). */
      log_messages: z.boolean().default(false),
      /** Log each routing decision (runtime-changeable). */
      trace_routing: z.boolean().default(false),

      server: section({
        /** Interface to bind; the dev profile forces loopback unless set explicitly. */
        host: z.string().default("127.0.0.1"),
        /** TCP port (PORT env overrides). */
        port: z.number().int().min(0).max(65535).default(4000),
        /** Largest HTTP request body accepted (bytes); larger gets 413. */
        body_limit: positive().default(4 * 1024 * 1024),
        /** Most levels of nested objects/arrays in one client message (400 / -32600 nesting_too_deep past it). */
        max_json_depth: z.number().int().min(8).max(1000).default(100),
        /** Time allowed to receive the request headers (ms); slow clients are cut off. */
        headers_timeout: ms().default(10_000),
        /** Time allowed to receive a whole request body (ms). */
        request_timeout: ms().default(30_000),
        /** Largest total header size (bytes). */
        max_header_size: positive().default(16 * 1024),
        /** Most headers in one request (431 headers_too_large past it). */
        max_headers_count: positive().default(100),
        /** Extra Origins allowed besides the gateway's own host (exact match, or "*"). */
        allowed_origins: z.array(z.string()).default([]),
        /** Host header values accepted (DNS-rebinding protection); empty = loopback names when bound to loopback. */
        allowed_hosts: z.array(z.string()).default([]),
        /** Most open TCP connections in total (503 too_many_connections past it). */
        max_connections: positive().default(10_000),
        /**
         * The gateway's public base URL as clients reach it (e.g. https://mcp.example.com): the default JWT
         * audience (`<public_url>/mcp`) and the origin announced in protected-resource metadata and
         * WWW-Authenticate. Unset, the dev profile derives it from a validated Host header; outside dev,
         * auth.mode jwt needs it or auth.jwt.audience.
         */
        public_url: z.string().url().optional(),
        /** Most open WebSocket/Phoenix/HTTP+SSE connections per client_id (503 too_many_connections past it). */
        max_connections_per_client: positive().default(100),
      }),

      admin: section({
        /** Bearer token for /mcp/admin/*. The dev default is refused in other profiles, and in dev on a non-loopback host. */
        token: z.string().optional(),
        /** A read-only token for the ops pages outside dev (`/mcp/health/client/:id`, `/dashboard`); the admin token works there too. */
        ops_token: z.string().optional(),
        /** dev only: serve the well-known dev token on a non-loopback server.host anyway (`start --allow-dev-token`). */
        allow_dev_token_on_network: z.boolean().default(false),
      }),

      auth: section({
        /** none (dev only), api_key, or jwt. */
        mode: z.enum(["none", "api_key", "jwt"]).default("none"),
        /** Static API keys, stored as sha256 hex of the key. */
        api_keys: z
          .array(z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), client_id: z.string(), scopes: z.array(z.string()).default([]) }))
          .default([]),
        jwt: section({
          /** HS256 shared secret. */
          secret: z.string().optional(),
          /** RS256/ES256 keys: a JWKS file path. */
          jwks_file: z.string().optional(),
          /** RS256/ES256 keys: a JWKS URL. */
          jwks_url: z.string().url().optional(),
          issuer: z.string().optional(),
          /** Expected audience (RFC 8707 resource indicator); defaults to `<server.public_url>/mcp` (dev: the validated Host's URL). */
          audience: z.string().optional(),
          /** Refuse tokens without an `exp` claim (invalid_token); false accepts never-expiring tokens. */
          require_exp: z.boolean().default(true),
          /** Allowed clock skew (s). */
          clock_tolerance: z.number().nonnegative().default(5),
        }),
        /** Scopes every client must hold. */
        required_scopes: z.array(z.string()).default([]),
        /** Authorization servers announced in protected-resource metadata. */
        authorization_servers: z.array(z.string()).default([]),
        /** Per-tool rules: first match wins; a tool no rule allows is allowed unless default_tool_policy is deny. */
        tool_rules: z
          .array(
            z.strictObject({
              /** The upstream whose tool this rule protects (`*` wildcard). With it, `tool` is the upstream's own tool name, immune to prefixing. */
              upstream: z.string().optional(),
              /** The tool: its name on `upstream`, or (without `upstream`) the exposed name, also matched against its other names. */
              tool: z.string(),
              allow_scopes: z.array(z.string()).optional(),
              deny_scopes: z.array(z.string()).optional(),
              allow_claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
            }),
          )
          .default([]),
        default_tool_policy: z.enum(["allow", "deny"]).default("allow"),
      }),

      pool: section({
        /** Concurrent upstream requests per upstream (leases). */
        size: positive().default(100),
        /** Extra leases allowed above size under bursts. */
        overflow: z.number().int().nonnegative().default(50),
        /** Which waiting checkout is served first. */
        strategy: z.enum(["fifo", "lifo"]).default("fifo"),
        /** How long a request waits for a lease before `pool_timeout` (ms). */
        checkout_timeout: ms().default(5000),
        /** Idle upstream connections are closed after this (ms). */
        idle_timeout: ms().default(300_000),
      }),

      websocket: section({
        /** Close a connection with no traffic for this long (ms). */
        idle_timeout: ms().default(60_000),
        /** Server ping every (ms). */
        ping_interval: ms().default(25_000),
        /** A ping unanswered this long (ms) closes the peer (recorded as 1006). */
        pong_timeout: ms().default(15_000),
        /** Largest frame (bytes); larger closes with 1008. */
        max_frame_size: positive().default(65_536),
        /** A Phoenix socket that has not joined (authenticated) within this is closed with 1008 (ms). */
        join_timeout: ms().default(10_000),
        /** Most open Phoenix sockets whose upgrade failed authentication; past it such upgrades are refused (401) before the handshake. */
        max_unauthenticated_sockets: positive().default(100),
      }),

      http_sse: section({
        /** `heartbeat` event interval (ms); below common proxy read timeouts (60 s). */
        heartbeat_interval: ms().default(30_000),
        /** The SSE `retry:` hint sent to clients (ms). */
        retry: ms().default(2000),
      }),

      session: section({
        /** Replay buffer per session: most messages kept for resume. */
        replay_buffer_size: positive().default(1000),
        /** Replay buffer per session: most bytes kept for resume. */
        replay_buffer_bytes: positive().default(1024 * 1024),
        /** A session with no connection for this long is ended (ms); a Streamable HTTP session counts as unconnected when no request or GET stream of it is open. */
        ttl: ms().default(30 * 60_000),
        /** Most live sessions on this node (new ones get too_many_sessions past it). */
        max_sessions: positive().default(10_000),
        /** Most live sessions of one client_id, attached or not (new ones get too_many_sessions past it). */
        max_sessions_per_client: positive().default(1000),
      }),

      routing: section({
        /** Name namespacing of federated tools/prompts: `<upstream>__<name>`. */
        prefix: z.enum(["always", "conditional", "never"]).default("conditional"),
        /** Virtual nodes per replica on the consistent-hash ring. */
        vnodes: positive().default(150),
        /** Consecutive failures before a replica is skipped. */
        failover_threshold: positive().default(3),
        /** Upstream ping interval (ms). */
        health_check_interval: ms().default(10_000),
        /** Default per-request timeout (ms). */
        request_timeout: ms().default(60_000),
        /** Failovers within flap_window before a target is held down. */
        flap_limit: positive().default(4),
        /** Window for flap detection (ms). */
        flap_window: ms().default(60_000),
        /**
         * Longest wait for one upstream's lists (ms) before the gateway serves the
         * federated lists without it: at start-up, and on every refresh (its last
         * good lists stay listed; the upstream is flagged in the log and in
         * gateway_upstream_list_stale). A late answer is still merged. Runtime-changeable.
         */
        list_timeout: positive().default(1000),
        /**
         * Longest wait at start-up (ms from start) for upstreams still handshaking once the others are
         * listed; past it the gateway opens without them and merges their lists when they answer.
         */
        startup_timeout: positive().default(10_000),
        /** `tools/list` with an upstream down: partial result (false) or an error (true). */
        fail_closed: z.boolean().default(false),
        /** First hold-down of a flapping replica or client (ms); doubles on each repeat, up to 16x. */
        flap_hold_down: ms().default(30_000),
        /** Retries of a failed call on another replica; only for safe calls (reads, lists, read-only/idempotent tools). */
        max_retries: z.number().int().min(0).max(5).default(1),
        /** Longest tool/prompt name exposed to clients; longer names, or names outside [a-zA-Z0-9_-], are shortened with a hash suffix (docs/integrity.md). */
        max_name_length: z.number().int().min(16).max(1024).default(64),
      }),

      integrity: section({
        /** Tool pinning: off, record (first definition seen is pinned, drift reported) or enforce (only pinned definitions exposed). Runtime-changeable. */
        mode: z.enum(["off", "record", "enforce"]).default("off"),
        /** Poisoned-description scan: off, warn (log and report) or block (withhold findings at block_severity or above). Runtime-changeable. */
        scan: z.enum(["off", "warn", "block"]).default("warn"),
        /** Lowest finding severity that scan: block withholds. Runtime-changeable. */
        block_severity: z.enum(["low", "medium", "high"]).default("high"),
        /** Where pins live: auto (redis when cluster.redis_url is set, else file), file, or redis. */
        store: z.enum(["auto", "file", "redis"]).default("auto"),
        /** The pin file (JSON, or YAML when it ends .yaml/.yml), relative to the working directory. */
        pin_file: z.string().min(1).default("tool-pins.json"),
      }),

      circuit_breaker: section({
        /** Consecutive failures that open a breaker. */
        failure_threshold: positive().default(5),
        /** Time open before a half-open probe (ms). */
        reset_timeout: ms().default(30_000),
        /** Successful probes needed to close again. */
        half_open_successes: positive().default(1),
      }),

      rate_limiting: section({
        enabled: z.boolean().default(true),
        /** Requests per window per client (key `user:<client_id>`; anonymous dev-profile sessions: `session:<id>`). */
        default_limit: positive().default(100),
        /** Window length (ms). */
        window: positive().default(60_000),
        /** Notifications per window per client (key `notify:<client_id>`), apart from requests; past it they are dropped. Acks and cancellations are not counted. */
        notification_limit: positive().default(1000),
        /** While the store is unreachable (Redis down): `open` lets requests through, `closed` refuses them (`rate_limit_unavailable`, 503). */
        fail_mode: z.enum(["open", "closed"]).default("open"),
        /** A failing store's warning is logged at most once per this interval (ms), the next line counting those not logged. */
        store_warning_interval: ms().default(10_000),
      }),

      backpressure: section({
        /** pending acks above this: halve the delivery rate. */
        medium_pending: positive().default(50),
        /** pending acks above this: drop non-critical messages. */
        high_pending: positive().default(100),
        /** oldest undelivered older than this (ms): bundle messages. */
        lag_threshold: positive().default(5000),
        /** bundling interval (ms). */
        bundle_interval: positive().default(1000),
        /** socket buffer above which a client is not written to (bytes). */
        max_buffered_bytes: positive().default(1024 * 1024),
        /** Replay buffers plus unread socket bytes of all clients together (bytes); past it, replay buffers drop their oldest entries and clients that are behind are treated as full. */
        max_total_buffered_bytes: positive().default(256 * 1024 * 1024),
      }),

      shutdown: section({
        /** Time in-flight calls get to finish on SIGTERM (ms). */
        drain_timeout: ms().default(10_000),
      }),

      diagnostics: section({
        /** Longest string kept from client input in traces, recorded errors and log fields (characters); longer ones are cut with a marker. Log messages get 8x this. */
        max_string_length: positive().default(512),
        /** Estimated bytes of per-client diagnostics (traces, errors) kept in total; past it the oldest clients' records are dropped. */
        max_bytes: positive().default(32 * 1024 * 1024),
      }),

      logging: section({
        level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
        /**
         * Directory of gateway.log and error.log; empty string: stdout only. Default: `./logs` in the dev
         * profile; elsewhere `$LOGS_DIRECTORY` (set by systemd's LogsDirectory=) or `/var/log/mcp-gateway`.
         * Resolved to an absolute path at load, so the doctor can print it.
         */
        dir: z.string().optional(),
        /** text: one grep-able line per event; json: for log shippers. */
        format: z.enum(["text", "json"]).default("text"),
        /** Rotate a log file past this size (bytes). */
        max_size: positive().default(50 * 1024 * 1024),
        /** Rotated files kept. */
        max_files: positive().default(5),
        /** Also print to stdout. */
        stdout: z.boolean().default(true),
      }),

      /** OpenTelemetry by the MCP semantic conventions (src/telemetry/otel/, docs/operations.md "OpenTelemetry"). */
      telemetry: section({
        /** The convention's histograms on /metrics (mcp_*_duration_seconds) even without an OTLP collector. */
        mcp_metrics: z.boolean().default(false),
        otlp: section({
          /** Collector base URL (`/v1/traces`, `/v1/metrics` are appended); set it, or OTEL_EXPORTER_OTLP_ENDPOINT, to turn OTLP export on. */
          endpoint: z.string().url().optional(),
          /** Headers on every export (a collector's API key): secrets, redacted wherever config is shown. */
          headers: z.record(z.string(), z.string()).default({}),
          /** Export spans. */
          traces: z.boolean().default(true),
          /** Export the mcp.* histograms. */
          metrics: z.boolean().default(true),
          /** How often metrics are exported (ms). */
          metrics_interval: positive().default(60_000),
          /** Longest wait before finished spans are exported (ms). */
          traces_delay: positive().default(5000),
          /** Share of root traces sampled (parent-based: a sampled client parent is always followed); unset: OTEL_TRACES_SAMPLER_ARG, else 1. */
          sampling_ratio: z.number().min(0).max(1).optional(),
          /** Record tool arguments and results (gen_ai.tool.call.arguments/result, the convention's opt-in attributes). */
          record_content: z.boolean().default(false),
          /** service.name of the resource; unset: OTEL_SERVICE_NAME, else mcp-gateway. */
          service_name: z.string().min(1).optional(),
        }),
      }),

      cluster: section({
        /** Redis URL; set (or REDIS_URL) to run several nodes as one gateway. */
        redis_url: z.string().optional(),
        /** This node's id (default: host:pid). */
        node_id: z.string().optional(),
        /** Prefix of every Redis key and channel (several gateways, or tests, can share one Redis). */
        key_prefix: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "use letters, digits and _ . : -").default("mcp-gateway"),
        /** How often a node announces itself and refreshes its view of the cluster (ms). */
        heartbeat_interval: positive().default(2000),
        /** A node not heard from for this long is gone from the view (ms). */
        node_timeout: positive().default(6000),
        /** Most event-log writes queued for Redis (outage or burst); past it the oldest wait in the local replay buffer only. */
        max_pending_writes: positive().default(10_000),
      }),

      /** The modern (MCP 2026-07-28) wire toward clients on /mcp (docs/protocol-2026.md). */
      modern: section({
        /** Serve 2026-07-28 requests on /mcp; false: they get the legacy answers (400 -32012). */
        enabled: z.boolean().default(true),
        /**
         * Key that seals MRTR requestState and task ids (64 hex digits, base64 of 32 bytes, or a
         * passphrase). Every node of a cluster needs the same one; unset: a random key per process.
         */
        state_key: z.string().min(1).optional(),
        /** How long a legacy upstream's question waits for the client's retry before input_timeout (ms). */
        input_timeout: positive().default(60_000),
        /** How long a sealed requestState stays valid (ms). */
        state_ttl: positive().default(600_000),
        /** ttlMs the gateway puts on lists and reads whose upstreams give no hint (legacy upstreams). */
        cache_ttl: ms().default(0),
        /** Keep-alive comment interval on subscriptions/listen streams (ms; 0: none). */
        keepalive_interval: ms().default(15_000),
      }),

      /** The upstream MCP servers. */
      upstreams: z.array(upstreamSchema).default([]),
    })
    .superRefine((c, ctx) => {
      const seen = new Set<string>();
      c.upstreams.forEach((u, i) => {
        if (seen.has(u.name)) ctx.addIssue({ code: "custom", path: ["upstreams", i, "name"], message: `duplicate upstream name "${u.name}"` });
        seen.add(u.name);
      });
      // A rule bound to an upstream that does not exist protects nothing: name the typo at start-up.
      c.auth.tool_rules.forEach((r, i) => {
        if (r.upstream !== undefined && !r.upstream.includes("*") && !seen.has(r.upstream)) {
          ctx.addIssue({ code: "custom", path: ["auth", "tool_rules", i, "upstream"], message: `no upstream named "${r.upstream}"` });
        }
      });
    });

  return { upstreamSchema, configSchema };
}

type ConfigSchemas = ReturnType<typeof defineSchemas>;
let schemas: ConfigSchemas | undefined;

/** zod keeps its config (with a memoizer of its own functions) and registry on globalThis, under these names. */
const ZOD_GLOBALS = ["__zod_globalConfig", "__zod_globalRegistry"] as const;
/** The globals zod created when we loaded it (not those another copy of zod made first): ours to remove. */
let zodGlobals: string[] = [];

/** The config and upstream schemas, built (and zod loaded) on first use. */
export function configSchemas(): ConfigSchemas {
  if (schemas) return schemas;
  const before = ZOD_GLOBALS.filter((g) => g in globalThis);
  schemas = defineSchemas(requireForgettable<typeof Zod>("zod").z);
  zodGlobals = ZOD_GLOBALS.filter((g) => !before.includes(g));
  return schemas;
}

/** Drops the schemas and zod: the next configSchemas() loads and builds them again. */
export function releaseConfigSchemas(): void {
  if (!schemas) return;
  schemas = undefined;
  forgetPackage("zod");
  // zod's globals hold its functions, hence its modules and sources: they go with it (a fresh require makes new ones).
  for (const g of zodGlobals) delete (globalThis as Record<string, unknown>)[g];
  zodGlobals = [];
}

/** The validated, defaulted configuration. */
export type GatewayConfig = z.infer<ConfigSchemas["configSchema"]>;
/** One validated upstream entry. */
export type UpstreamConfig = z.infer<ConfigSchemas["upstreamSchema"]>;
/** Raw input accepted by the loader (before defaults). */
export type GatewayConfigInput = z.input<ConfigSchemas["configSchema"]>;
