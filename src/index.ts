/** Public entry: embed the gateway in a Node program. */
export { Gateway, startGateway, VERSION, type GatewayOptions } from "./gateway.js";
export * from "./config/index.js";
export * from "./errors/index.js";
export * from "./protocol/index.js";
