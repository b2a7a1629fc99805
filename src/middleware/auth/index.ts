export { AuthService } from "./auth-service.js";
export { ApiKeyVerifier, sha256, type ApiKeyEntry } from "./api-key.js";
export { JwtVerifier, type JwtSettings } from "./jwt.js";
export { bearerToken, upgradeToken, scopesOf } from "./token.js";
export { createToolFilter } from "./tool-rules.js";
export {
  RESOURCE_METADATA_PATHS,
  authFailureBody,
  refuseHttp,
  resourceMetadata,
  serveResourceMetadata,
  wwwAuthenticate,
} from "./resource-metadata.js";
