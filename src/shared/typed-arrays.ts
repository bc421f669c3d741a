/** A copy of `a` in an array twice its length (the new half zeroed). */
export function doubled<T extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(a: T): T {
  const b = (a instanceof Float64Array ? new Float64Array(a.length * 2) : new Int32Array(a.length * 2)) as T;
  b.set(a);
  return b;
}
