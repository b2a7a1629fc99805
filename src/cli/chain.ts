/**
 * A promise you can read through: `chain(p).status` is a chain of
 * `p.then((v) => v.status)`, and `chain(p).items.length` works the same, so
 * the guide's `Gateway.status().status` reads as written in the console
 * (which awaits whatever a line evaluates to). Calls of a method on the
 * result (`.filter(...)`) are chained as well.
 */
export function chain<T>(promise: Promise<T>): Promise<T> & Record<string, any> {
  const target = function () {} as unknown as Record<string | symbol, unknown>;
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === "then" || prop === "catch" || prop === "finally") {
        const fn = (promise as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!;
        return fn.bind(promise);
      }
      if (typeof prop === "symbol") return (promise as unknown as Record<symbol, unknown>)[prop];
      return chain(
        promise.then((v) => {
          if (v === null || v === undefined) return undefined;
          const member = (v as Record<string, unknown>)[prop];
          // Methods keep their owner, so `.filter(...)` on the chained value calls it on the value.
          return typeof member === "function" ? (member as (...a: unknown[]) => unknown).bind(v) : member;
        }),
      );
    },
    apply(_t, _this, args) {
      return chain(promise.then((fn) => (typeof fn === "function" ? (fn as (...a: unknown[]) => unknown)(...args) : Promise.reject(new TypeError("not a function")))));
    },
  }) as unknown as Promise<T> & Record<string, any>;
}
