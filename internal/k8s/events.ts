// Kubernetes Events (events.k8s.io/v1) through client-node: create one, and patch the series of an
// existing one (count and last time seen) when the same thing happens again. Aggregation and the
// "logged once" rule live in the caller (internal/boot/events.ts); this module only talks to the API.
import * as k8s from '@kubernetes/client-node';
import { translate } from './client.ts';

/** The object an Event is about: a member pod or the StatefulSet. */
export interface EventObject {
  kind: 'Pod' | 'StatefulSet';
  name: string;
}

/** One Event to create. */
export interface EventSpec {
  regarding: EventObject;
  /** UpperCamelCase, e.g. MemberJoined. */
  reason: string;
  /** What the reporter did, e.g. Join, Remove. */
  action: string;
  type: 'Normal' | 'Warning';
  /** Up to 1 kB of human-readable text. */
  note: string;
  /** The reporting instance: the member pod that saw it. */
  reporter: string;
  at: Date;
}

/** The two calls an event recorder makes. */
export interface EventSink {
  /** Creates the Event; returns its name. */
  create(e: EventSpec): Promise<string>;
  /** Sets series.count and series.lastObservedTime of Event `name`. */
  repeat(name: string, count: number, at: Date): Promise<void>;
}

/** The controller name every deis-etcd Event carries (reportingController). */
export const REPORTING_CONTROLLER = 'deis-etcd.io/boot';
const NOTE_LIMIT = 1024;

const apiVersions: Record<EventObject['kind'], string> = { Pod: 'v1', StatefulSet: 'apps/v1' };

/**
 * An Event's name, as Kubernetes' own recorders make it: `<object>.<time in ns, hex>` plus a few
 * random hex digits, since several members may report about one object in the same millisecond
 * (generateName cannot do it: a prefix ending in '.' is refused).
 */
export function eventName(object: string, at: Date, random: () => number = Math.random): string {
  const ns = (BigInt(at.getTime()) * 1_000_000n).toString(16);
  const salt = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${object}.${ns}${salt}`;
}

export function eventSink(kc: k8s.KubeConfig, namespace: string): EventSink {
  const api = kc.makeApiClient(k8s.EventsV1Api);
  const call = async <T>(verb: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, verb, 'events.events.k8s.io', namespace);
    }
  };
  return {
    create: (e) =>
      call('create', async () => {
        const body: k8s.EventsV1Event = {
          metadata: { name: eventName(e.regarding.name, e.at), namespace },
          eventTime: new k8s.V1MicroTime(e.at.getTime()),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: e.reporter.slice(0, 128),
          action: e.action,
          reason: e.reason,
          type: e.type,
          note: e.note.length > NOTE_LIMIT ? `${e.note.slice(0, NOTE_LIMIT - 3)}...` : e.note,
          regarding: {
            apiVersion: apiVersions[e.regarding.kind],
            kind: e.regarding.kind,
            name: e.regarding.name,
            namespace,
          },
        };
        const created = await api.createNamespacedEvent({ namespace, body });
        return created.metadata?.name ?? '';
      }),
    repeat: (name, count, at) =>
      call('patch', async () => {
        const body = { series: { count, lastObservedTime: new k8s.V1MicroTime(at.getTime()).toISOString() } };
        await api.patchNamespacedEvent(
          { name, namespace, body },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }),
  };
}
