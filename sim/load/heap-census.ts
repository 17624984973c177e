import { readFileSync } from 'node:fs';

/** How many objects of one kind a heap holds, and their own (shallow) size together. */
export interface CensusEntry {
  readonly count: number;
  readonly selfBytes: number;
}

/** A heap by kind of object: `object Socket`, `closure onEvent`, `hidden system / Context`, … */
export type HeapCensus = ReadonlyMap<string, CensusEntry>;

/** One kind's growth between two censuses, per unit (a socket) of what was added in between. */
export interface Growth {
  readonly kind: string;
  readonly count: number;
  readonly bytes: number;
}

/** What one thing a socket holds keeps alive on its own, per socket of those sampled. */
export interface Retention {
  /** Where it hangs from the Socket.IO socket: `data`, `_events.disconnect`, `context of onEvent: log`, … */
  readonly item: string;
  readonly bytes: number;
  /** The kinds that make it up, largest first. */
  readonly kinds: readonly { readonly kind: string; readonly bytes: number }[];
}

interface SnapshotFile {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** Kinds whose V8 name is their content: counted together, not one kind per text. */
const TEXT_TYPES = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint']);
/** Edge types whose name is an index, not a string. */
const INDEX_EDGES = new Set(['element', 'hidden']);

/**
 * A V8 heap snapshot (`.heapsnapshot`, as `--heapsnapshot-signal` or `v8.writeHeapSnapshot` write
 * it) as a graph. Only what was live is in a snapshot: V8 collects garbage before it writes one.
 */
class HeapGraph {
  readonly count: number;
  private readonly types: readonly string[];
  private readonly nodeType: Uint8Array;
  private readonly nodeName: Uint32Array;
  private readonly selfSize: Float64Array;
  private readonly firstEdge: Uint32Array;
  private readonly edgeTo: Uint32Array;
  private readonly edgeType: Uint8Array;
  private readonly edgeName: Uint32Array;
  private readonly edgeTypes: readonly string[];
  private readonly strings: readonly string[];
  private alive: Uint8Array | null = null;

  constructor(path: string) {
    const { snapshot, nodes, edges, strings } = JSON.parse(
      readFileSync(path, 'utf8'),
    ) as SnapshotFile;
    const { node_fields: nodeFields, edge_fields: edgeFields } = snapshot.meta;
    [this.types] = snapshot.meta.node_types;
    [this.edgeTypes] = snapshot.meta.edge_types;
    this.strings = strings;
    const width = nodeFields.length;
    const [type, name, size, edgeCount] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
      nodeFields.indexOf(f),
    ) as [number, number, number, number];
    this.count = nodes.length / width;
    this.nodeType = new Uint8Array(this.count);
    this.nodeName = new Uint32Array(this.count);
    this.selfSize = new Float64Array(this.count);
    this.firstEdge = new Uint32Array(this.count + 1);
    let edge = 0;
    for (let node = 0; node < this.count; node += 1) {
      const at = node * width;
      this.nodeType[node] = nodes[at + type] as number;
      this.nodeName[node] = nodes[at + name] as number;
      this.selfSize[node] = nodes[at + size] as number;
      this.firstEdge[node] = edge;
      edge += nodes[at + edgeCount] as number;
    }
    this.firstEdge[this.count] = edge;
    const edgeWidth = edgeFields.length;
    const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) =>
      edgeFields.indexOf(f),
    ) as [number, number, number];
    this.edgeTo = new Uint32Array(edge);
    this.edgeType = new Uint8Array(edge);
    this.edgeName = new Uint32Array(edge);
    for (let e = 0; e < edge; e += 1) {
      this.edgeType[e] = edges[e * edgeWidth + eType] as number;
      this.edgeName[e] = edges[e * edgeWidth + eName] as number;
      this.edgeTo[e] = (edges[e * edgeWidth + eTo] as number) / width;
    }
  }

  type(node: number): string {
    return this.types[this.nodeType[node] as number] as string;
  }

  name(node: number): string {
    return this.strings[this.nodeName[node] as number] as string;
  }

  size(node: number): number {
    return this.selfSize[node] as number;
  }

  kind(node: number): string {
    const type = this.type(node);
    return TEXT_TYPES.has(type) ? `(${type})` : `${type} ${this.name(node)}`;
  }

  /** The node's outgoing edges as `[edge type, edge name, target]`. */
  *edges(node: number): Generator<[string, string, number]> {
    for (let e = this.firstEdge[node] as number; e < (this.firstEdge[node + 1] as number); e += 1) {
      const type = this.edgeTypes[this.edgeType[e] as number] as string;
      const name = INDEX_EDGES.has(type)
        ? String(this.edgeName[e])
        : (this.strings[this.edgeName[e] as number] as string);
      yield [type, name, this.edgeTo[e] as number];
    }
  }

  /** The target of `node`'s edge named `name`, or undefined. */
  child(node: number, name: string, type?: string): number | undefined {
    for (const [edgeType, edgeName, to] of this.edges(node)) {
      if (edgeName === name && (type === undefined || edgeType === type)) return to;
    }
    return undefined;
  }

  /**
   * What only `removed` keep alive: the nodes reachable from the snapshot's root (node 0) through
   * strong edges, that would not be without them.
   */
  retainedBy(removed: readonly number[]): Map<string, number> {
    this.alive ??= this.reachable(new Set());
    const without = this.reachable(new Set(removed));
    const kinds = new Map<string, number>();
    for (let node = 0; node < this.count; node += 1) {
      if (this.alive[node] === 1 && without[node] === 0) {
        const kind = this.kind(node);
        kinds.set(kind, (kinds.get(kind) ?? 0) + this.size(node));
      }
    }
    return kinds;
  }

  private reachable(removed: ReadonlySet<number>): Uint8Array {
    const seen = new Uint8Array(this.count);
    const weak = this.edgeTypes.indexOf('weak');
    const stack = [0];
    seen[0] = 1;
    for (const node of removed) seen[node] = 1;
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      for (
        let e = this.firstEdge[node] as number;
        e < (this.firstEdge[node + 1] as number);
        e += 1
      ) {
        const to = this.edgeTo[e] as number;
        if (this.edgeType[e] !== weak && seen[to] === 0) {
          seen[to] = 1;
          stack.push(to);
        }
      }
    }
    // Marked seen only so that nothing was reached through them; they are not reachable.
    for (const node of removed) seen[node] = 0;
    return seen;
  }
}

/** Counts a heap snapshot by kind: the node type and its name, strings and numbers by type alone. */
export function heapCensus(path: string): HeapCensus {
  const graph = new HeapGraph(path);
  const census = new Map<string, { count: number; selfBytes: number }>();
  for (let node = 0; node < graph.count; node += 1) {
    const kind = graph.kind(node);
    const entry = census.get(kind) ?? { count: 0, selfBytes: 0 };
    entry.count += 1;
    entry.selfBytes += graph.size(node);
    census.set(kind, entry);
  }
  return census;
}

/**
 * What each of `units` added between `before` and `after` (the sockets connected in between), by
 * kind, largest first; kinds that shrank are kept, with negative figures.
 */
export function growthPerUnit(before: HeapCensus, after: HeapCensus, units: number): Growth[] {
  const kinds = new Set([...before.keys(), ...after.keys()]);
  return [...kinds]
    .map((kind) => {
      const was = before.get(kind) ?? { count: 0, selfBytes: 0 };
      const is = after.get(kind) ?? { count: 0, selfBytes: 0 };
      return {
        kind,
        count: (is.count - was.count) / units,
        bytes: (is.selfBytes - was.selfBytes) / units,
      };
    })
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * What the application hangs on a Socket.IO socket keeps alive, item by item, per socket over
 * `sample` sockets of the snapshot (Socket.IO `Socket` objects, told from engine.io's and net's by
 * their `nsp` and `data`): the socket's `data`; each listener of its own (`_events`,
 * `_anyListeners`); each variable of their closure contexts; and `data` and those listeners
 * together. Listeners, contexts and values that several sampled sockets share (a module's
 * functions, the server's objects) are no socket's own and are left out. Something two items share
 * is retained by neither alone, only by both together.
 */
export function socketRetention(path: string, sample: number): Retention[] {
  const graph = new HeapGraph(path);
  const sockets: number[] = [];
  for (let node = 0; node < graph.count && sockets.length < sample; node += 1) {
    if (
      graph.type(node) === 'object' &&
      graph.name(node) === 'Socket' &&
      graph.child(node, 'nsp') !== undefined &&
      graph.child(node, 'data') !== undefined
    ) {
      sockets.push(node);
    }
  }
  const held = sockets.map((socket) => ({ socket, ...heldBy(graph, socket) }));
  const seen = new Map<number, number>();
  const count = (node: number) => seen.set(node, (seen.get(node) ?? 0) + 1);
  for (const { listeners, contexts } of held) {
    for (const [, fn] of listeners) count(fn);
    for (const context of contexts.keys()) {
      for (const [type, , to] of graph.edges(context)) if (type === 'context') count(to);
    }
  }
  const own = (node: number) => (seen.get(node) ?? 0) <= 1;
  const items = new Map<string, number[][]>();
  const add = (item: string, nodes: number[]) => {
    items.set(item, [...(items.get(item) ?? []), nodes]);
  };
  for (const { socket, data, listeners, contexts } of held) {
    const mine = listeners.filter(([, fn]) => own(fn));
    if (data !== undefined) add('data', [data]);
    for (const [where, fn] of mine) add(`${where} (${graph.kind(fn)})`, [fn]);
    for (const [context, where] of contexts) {
      if (!mine.some(([, fn]) => graph.child(fn, 'context', 'internal') === context)) continue;
      add(`closure context of ${where}, whole`, [context]);
      for (const [type, name, to] of graph.edges(context)) {
        if (type === 'context' && own(to) && to !== socket) {
          add(`closure context of ${where}: ${name} (${graph.kind(to)})`, [to]);
        }
      }
    }
    add('data and the listeners of its own together', [
      ...(data === undefined ? [] : [data]),
      ...mine.map(([, fn]) => fn),
    ]);
  }
  return [...items]
    .map(([item, occurrences]) => {
      const kinds = new Map<string, number>();
      for (const removed of occurrences) {
        for (const [kind, bytes] of graph.retainedBy(removed)) {
          kinds.set(kind, (kinds.get(kind) ?? 0) + bytes / sockets.length);
        }
      }
      return {
        item,
        bytes: [...kinds.values()].reduce((sum, value) => sum + value, 0),
        kinds: [...kinds]
          .map(([kind, kindBytes]) => ({ kind, bytes: kindBytes }))
          .sort((a, b) => b.bytes - a.bytes),
      };
    })
    .sort((a, b) => b.bytes - a.bytes);
}

/** A Socket.IO socket's `data`, its listeners, and their closure contexts named by who shares them. */
function heldBy(graph: HeapGraph, socket: number) {
  const listeners: Array<[string, number]> = [];
  const events = graph.child(socket, '_events', 'property');
  for (const [type, name, to] of events === undefined ? [] : graph.edges(events)) {
    if (type !== 'property') continue;
    const fns = graph.type(to) === 'closure' ? [to] : elementsOf(graph, to);
    for (const fn of fns) listeners.push([`_events.${name}`, fn]);
  }
  const any = graph.child(socket, '_anyListeners', 'property');
  for (const fn of any === undefined ? [] : elementsOf(graph, any)) {
    listeners.push(['_anyListeners', fn]);
  }
  const contexts = new Map<number, string>();
  for (const [where, fn] of listeners) {
    const context = graph.child(fn, 'context', 'internal');
    if (context !== undefined) {
      const sharers = contexts.get(context);
      contexts.set(context, sharers === undefined ? where : `${sharers}, ${where}`);
    }
  }
  return { data: graph.child(socket, 'data', 'property'), listeners, contexts };
}

function elementsOf(graph: HeapGraph, array: number): number[] {
  const elements: number[] = [];
  for (const [type, , to] of graph.edges(array)) if (type === 'element') elements.push(to);
  return elements;
}
