/**
 * Entry of the browser bundle (`dist/client/browser.js`, built by
 * `npm run build:client`): the same API as `mcp-gateway/client`, with the
 * browser's own fetch and WebSocket.
 */
export * from "./index.js";
