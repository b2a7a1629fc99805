export { CATALOGUE, type CatalogueEntry, type ErrorCode } from "./catalogue.js";
export { GatewayError, toGatewayError, toHttpBody, toJsonRpcError, toClose, type ErrorDetails } from "./gateway-error.js";
export { MAX_RETAINED_STRING, truncate, truncateFields } from "./truncate.js";
