// A fake Event sink: keeps created Events and their series patches in memory.
import type { EventSink, EventSpec } from '../../internal/k8s/events.ts';
import type { DeisError } from '../../internal/errors.ts';

export interface FakeEvent extends EventSpec {
  name: string;
  count: number;
}

export class FakeEvents implements EventSink {
  events: FakeEvent[] = [];
  patches = 0;
  /** When set, every call fails with it (e.g. a 403). */
  error: DeisError | undefined;

  async create(e: EventSpec): Promise<string> {
    if (this.error) throw this.error;
    const name = `${e.regarding.name}.${this.events.length + 1}`;
    this.events.push({ ...e, name, count: 1 });
    return name;
  }
  async repeat(name: string, count: number): Promise<void> {
    if (this.error) throw this.error;
    const e = this.events.find((x) => x.name === name);
    if (!e) throw new Error(`no Event ${name}`);
    e.count = count;
    this.patches++;
  }
  /** `Reason Kind/name` of each Event, in order. */
  list(): string[] {
    return this.events.map((e) => `${e.reason} ${e.regarding.kind}/${e.regarding.name}`);
  }
}
