export * from "./jsonrpc.js";
export * from "./transport.js";
export { MemoryTransport } from "./memory-transport.js";
