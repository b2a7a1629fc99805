// Child process for bench/console-cpu.ts: one gateway (server-everything over stdio),
// its CPU measured from outside through /proc. Prints its URL on stdout.
import { everythingUpstream, startTestGateway } from "../test/helpers/gateway.js";

const { url } = await startTestGateway({ admin: { token: "bench-token" }, rate_limiting: { default_limit: 1_000_000 }, upstreams: [everythingUpstream()] });
console.log(url);
process.on("SIGTERM", () => process.exit(0));
