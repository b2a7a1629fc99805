/**
 * Where a `tasks/get|update|cancel` goes. The modern wire opens the client's
 * sealed task id (src/eras/modern/tasks/) and notes the upstream it names
 * here, keyed by the request object it hands to the middleware chain; the
 * relay forwards by it. A task request without an entry (a legacy client's
 * 2025-11-25 `tasks/get`, which the gateway does not offer) is -32601.
 */
export const taskRoutes = new WeakMap<object, string>();
