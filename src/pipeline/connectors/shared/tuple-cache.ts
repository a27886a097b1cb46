// Values by three strings and a small number, found without concatenating
// them: the hot paths of the connectors look a series up once per span or
// edge, and a key string built for each lookup is young garbage, which costs
// more (in collections while requests are in flight) than the lookup itself.
// A cache, not the source of truth: callers fill it only with what their
// table holds, so it is never larger than the table, and clear it when the
// table lets anything go.

export class TupleCache<V> {
  private root = new Map<string, Map<string, Map<string, Array<V | undefined>>>>();

  constructor(
    /** Slots per string triple; `slot` must be an integer below it. */
    private readonly slots: number,
  ) {}

  get(a: string, b: string, c: string, slot: number): V | undefined {
    return this.root.get(a)?.get(b)?.get(c)?.[slot];
  }

  set(a: string, b: string, c: string, slot: number, value: V): void {
    let byB = this.root.get(a);
    if (byB === undefined) this.root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (byC === undefined) byB.set(b, (byC = new Map()));
    let values = byC.get(c);
    if (values === undefined) byC.set(c, (values = new Array<V | undefined>(this.slots)));
    values[slot] = value;
  }

  clear(): void {
    this.root = new Map();
  }
}
