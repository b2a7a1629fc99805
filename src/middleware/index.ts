export { compose, type Middleware, type MessageHandler } from "./compose.js";
export { checkOrigin, type OriginPolicy } from "./origin.js";
