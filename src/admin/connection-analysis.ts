import type { Session } from "../session/session.js";
import type { OpsContext } from "./client-diagnostics.js";
import { closeMeaning } from "../telemetry/tracker.js";

const HOUR = 3_600_000;

/** Thresholds of the suspicious patterns (query parameters override them). */
export interface PatternThresholds {
  /** rapid_reconnect: at least this many connects ... */
  rapid_reconnect_count: number;
  /** ... within this window (s). */
  rapid_reconnect_window_s: number;
  /** connection_hoarding: more than this many live sessions for one client. */
  hoarding_sessions: number;
}

/** Defaults: 5 connects within 60 s is a loop; more than 10 live sessions is a leak. */
export const DEFAULT_THRESHOLDS: PatternThresholds = { rapid_reconnect_count: 5, rapid_reconnect_window_s: 60, hoarding_sessions: 10 };

/** Age bucket of a connection, in the guide's labels. */
export function ageBucket(ageMs: number): "0-1h" | "1-6h" | "6-24h" | "24h+" {
  if (ageMs < HOUR) return "0-1h";
  if (ageMs < 6 * HOUR) return "1-6h";
  if (ageMs < 24 * HOUR) return "6-24h";
  return "24h+";
}

/**
 * `Gateway.analyze_connections()`: sessions by age bucket and the suspicious
 * patterns: `rapid_reconnect` (many connects in a short window: a client in a
 * reconnect loop, often behind a proxy that cuts it) and
 * `connection_hoarding` (one client holding many sessions: a leak in the client).
 */
export function analyzeConnections(ctx: OpsContext, thresholds: Partial<PatternThresholds> = {}, now = Date.now()) {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  const distribution: Record<string, number> = { "0-1h": 0, "1-6h": 0, "6-24h": 0, "24h+": 0 };
  const perClient = new Map<string, number>();
  let total = 0;
  for (const s of ctx.gateway.registry.all()) {
    total++;
    distribution[ageBucket(now - s.createdAt)]!++;
    perClient.set(s.clientId, (perClient.get(s.clientId) ?? 0) + 1);
  }
  const rapid = ctx.tracker.clientIds().filter((id) => ctx.tracker.recentConnects(id, t.rapid_reconnect_window_s * 1000, now) >= t.rapid_reconnect_count);
  const hoarding = [...perClient].filter(([, n]) => n > t.hoarding_sessions).map(([id]) => id);
  const suspicious_patterns: Array<{ pattern: "rapid_reconnect" | "connection_hoarding"; client_ids: string[]; threshold: string }> = [];
  if (rapid.length) suspicious_patterns.push({ pattern: "rapid_reconnect", client_ids: rapid, threshold: `>= ${t.rapid_reconnect_count} connects in ${t.rapid_reconnect_window_s} s` });
  if (hoarding.length) suspicious_patterns.push({ pattern: "connection_hoarding", client_ids: hoarding, threshold: `> ${t.hoarding_sessions} sessions` });
  // Closes per transport within the reconnect window: tells an SSE reconnect storm from a WebSocket one.
  const recent_closes_by_transport: Record<string, number> = {};
  for (const c of ctx.tracker.closes(t.rapid_reconnect_window_s * 1000)) recent_closes_by_transport[c.transport] = (recent_closes_by_transport[c.transport] ?? 0) + 1;
  return { total, clients: perClient.size, connection_distribution: distribution, suspicious_patterns, recent_closes_by_transport, thresholds: t };
}

/** Sessions older than `hours`, oldest first. */
export function oldSessions(ctx: OpsContext, hours: number, now = Date.now()): Session[] {
  const limit = hours * HOUR;
  return [...ctx.gateway.registry.all()].filter((s) => now - s.createdAt > limit).sort((a, b) => a.createdAt - b.createdAt);
}

/** `Gateway.find_old_connections(hours: N)`. */
export function findOldConnections(ctx: OpsContext, hours: number, now = Date.now()) {
  const old = oldSessions(ctx, hours, now);
  return {
    hours,
    count: old.length,
    connections: old.slice(0, 1000).map((s) => ({
      client_id: s.clientId, session_id: s.id, transport: s.transport, connected: s.sink !== null,
      age_s: Math.round((now - s.createdAt) / 1000), idle_s: Math.round(s.idleMs(now) / 1000),
    })),
  };
}

/**
 * Closes sessions politely: a close frame / end of stream with a reason, so a
 * well-behaved client reconnects (1001 "going away" for WebSocket), then ends
 * the session so its buffers are freed.
 */
export function closeSessions(ctx: OpsContext, sessions: Session[], reason: string, code = 1001): string[] {
  const ids: string[] = [];
  for (const s of sessions) {
    s.closeReason = reason;
    try {
      s.sink?.close(code, reason);
    } catch {
      // the socket may already be gone; ending the session is what frees memory
    }
    ctx.tracker.sessionEnded(s.clientId, s.id, s.transport, reason);
    ctx.gateway.registry.end(s);
    ids.push(s.clientId);
  }
  return [...new Set(ids)];
}

/** `Gateway.gc_old_connections(hours: N)`: closes sessions older than N hours. */
export function gcOldConnections(ctx: OpsContext, hours: number, now = Date.now()) {
  const old = oldSessions(ctx, hours, now);
  const clients = closeSessions(ctx, old, `gc: connection older than ${hours} h`);
  return { hours, closed: old.length, client_ids: clients };
}

/**
 * `Gateway.cleanup_idle_connections(max_idle_seconds: N)`: closes client
 * sessions idle longer than N seconds and asks the pools to drop idle
 * upstream connections.
 */
export function cleanupIdleConnections(ctx: OpsContext, maxIdleSeconds: number, now = Date.now()) {
  const idle = [...ctx.gateway.registry.all()].filter((s) => s.idleMs(now) > maxIdleSeconds * 1000 && (s.inflight?.size ?? 0) === 0);
  const clients = closeSessions(ctx, idle, `idle for more than ${maxIdleSeconds} s`);
  const upstream = ctx.gateway.resilience?.cleanupIdleConnections(maxIdleSeconds) ?? null;
  return { max_idle_seconds: maxIdleSeconds, closed: idle.length, client_ids: clients, upstream_closed: upstream?.closed ?? null };
}

/**
 * `Gateway.analyze_1006_errors(last_hours: N)`: abnormal closes (1006: no
 * close frame) in the window, by transport, client and hour, and the age at
 * which connections died. Many drops at one age point at a proxy or load
 * balancer idle timeout (the guide's first cause).
 */
export function analyze1006(ctx: OpsContext, hours: number, now = Date.now()) {
  const closes = ctx.tracker.closes(hours * HOUR, now);
  const abnormal = closes.filter((c) => c.code === 1006);
  const byTransport: Record<string, number> = {};
  const byClient = new Map<string, number>();
  const byHour: Record<string, number> = {};
  const ages: number[] = [];
  for (const c of abnormal) {
    byTransport[c.transport] = (byTransport[c.transport] ?? 0) + 1;
    byClient.set(c.clientId, (byClient.get(c.clientId) ?? 0) + 1);
    const hour = new Date(c.at).toISOString().slice(0, 13) + ":00Z";
    byHour[hour] = (byHour[hour] ?? 0) + 1;
    if (c.age_ms !== undefined) ages.push(c.age_ms);
  }
  ages.sort((a, b) => a - b);
  const median = ages.length ? ages[Math.floor(ages.length / 2)]! : null;
  // Ages clustered within 10% of the median: a fixed timeout somewhere on the path.
  const clustered = median !== null && ages.length >= 3 && ages.filter((a) => Math.abs(a - median) <= median * 0.1 + 1000).length / ages.length >= 0.6;
  const ratio = closes.length ? abnormal.length / closes.length : 0;
  const ws = ctx.gateway.config.current.websocket;
  const hints: string[] = [];
  // Dying within a few seconds of opening is not an idle timeout (those are tens of seconds): the first frames fail.
  const diesAtOnce = median !== null && median < Math.min(5000, ws.ping_interval);
  if (diesAtOnce) hints.push(`connections die ~${median} ms after opening: not an idle timeout; the upgrade or the first frames fail (a proxy not passing Upgrade/Connection, a TLS or Origin refusal, a client crashing on connect): trace one client`);
  else if (clustered) hints.push(`most connections died after ~${Math.round(median! / 1000)} s: a proxy/load balancer idle timeout; raise proxy_read_timeout or lower websocket.ping_interval (now ${ws.ping_interval} ms)`);
  if (abnormal.length && !clustered && !diesAtOnce) hints.push("drops at varying ages: network interruptions; make clients reconnect with backoff and resume");
  if (ratio > 0.2 && abnormal.length >= 5) hints.push("1006 spike: more than 20% of closes were abnormal");
  const codes: Record<string, number> = {};
  for (const c of closes) {
    const k = c.code === undefined ? "none" : String(c.code);
    codes[k] = (codes[k] ?? 0) + 1;
  }
  return {
    last_hours: hours,
    total_closes: closes.length,
    count: abnormal.length,
    ratio: Math.round(ratio * 1000) / 1000,
    spike: ratio > 0.2 && abnormal.length >= 5,
    by_transport: byTransport,
    by_close_code: Object.fromEntries(Object.entries(codes).map(([k, n]) => [k, { count: n, meaning: k === "none" ? "stream ended (no close code)" : closeMeaning(Number(k)) }])),
    top_clients: [...byClient].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([client_id, count]) => ({ client_id, count })),
    by_hour: byHour,
    median_age_s: median === null ? null : Math.round(median / 1000),
    median_age_ms: median,
    dies_at_once: diesAtOnce,
    idle_timeout_pattern: clustered && !diesAtOnce,
    websocket: { idle_timeout: ws.idle_timeout, ping_interval: ws.ping_interval, pong_timeout: ws.pong_timeout },
    hints,
  };
}
