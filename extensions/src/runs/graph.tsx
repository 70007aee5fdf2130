/**
 * The task graph of a run: an inline SVG DAG, tasks laid out left to right by dependency
 * depth; fan-out items (`task[i]`) are drawn inside their task's node.
 */
import * as React from 'react';

import { ITask, ITaskSpecInfo } from '../api';
import { durationBetween, stateLabel } from '../common/format';

/** A task of the graph: one spec task and the run's task rows of it. */
export interface IGraphNode {
  name: string;
  dependsOn: string[];
  fanOut: boolean;
  tasks: ITask[];
  state: string;
}

const NODE_W = 184;
const HEAD_H = 46;
const ITEM_H = 20;
const MAX_ITEMS = 6;
const GAP_X = 56;
const GAP_Y = 18;
const PAD = 16;

/** The combined state of several task rows (fan-out items). */
export function aggregateState(tasks: ITask[]): string {
  if (tasks.length === 0) {
    return 'pending';
  }
  if (tasks.length === 1) {
    return tasks[0].state;
  }
  const states = new Set(tasks.map(t => t.state));
  for (const s of ['running', 'failed', 'timed_out', 'upstream_failed', 'cancelled', 'queued']) {
    if (states.has(s as any)) {
      return s;
    }
  }
  if (states.has('pending')) {
    return 'pending';
  }
  if (states.size === 1) {
    return tasks[0].state;
  }
  return states.has('succeeded') ? 'succeeded' : tasks[0].state;
}

/** Group the run's tasks under the pipeline's spec tasks, in spec order. */
export function buildNodes(spec: ITaskSpecInfo[] | null, tasks: ITask[]): IGraphNode[] {
  const byName = new Map<string, ITask[]>();
  for (const t of tasks) {
    const list = byName.get(t.name) ?? [];
    list.push(t);
    byName.set(t.name, list);
  }
  for (const list of byName.values()) {
    list.sort((a, b) => (a.item_index ?? -1) - (b.item_index ?? -1));
  }
  const nodes: IGraphNode[] = [];
  const seen = new Set<string>();
  for (const s of spec ?? []) {
    const list = byName.get(s.name) ?? [];
    nodes.push({
      name: s.name,
      dependsOn: s.depends_on ?? [],
      fanOut: s.for_each || list.some(t => t.item_index !== null && t.item_index !== undefined),
      tasks: list,
      state: aggregateState(list)
    });
    seen.add(s.name);
  }
  for (const [name, list] of byName) {
    if (!seen.has(name)) {
      nodes.push({
        name,
        dependsOn: [],
        fanOut: list.some(t => t.item_index !== null && t.item_index !== undefined),
        tasks: list,
        state: aggregateState(list)
      });
    }
  }
  return nodes;
}

/** Depth of each node: 0 for roots, else 1 + the deepest dependency. */
export function depths(nodes: IGraphNode[]): Map<string, number> {
  const byName = new Map(nodes.map(n => [n.name, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(name)) {
      return 0; // a cycle cannot be valid; do not loop
    }
    visiting.add(name);
    const node = byName.get(name);
    let d = 0;
    for (const dep of node?.dependsOn ?? []) {
      if (byName.has(dep)) {
        d = Math.max(d, visit(dep) + 1);
      }
    }
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  nodes.forEach(n => visit(n.name));
  return depth;
}

function nodeHeight(node: IGraphNode): number {
  if (!node.fanOut || node.tasks.length === 0) {
    return HEAD_H;
  }
  const shown = Math.min(node.tasks.length, MAX_ITEMS);
  const more = node.tasks.length > MAX_ITEMS ? 1 : 0;
  return HEAD_H + (shown + more) * ITEM_H + 6;
}

interface IPlaced {
  node: IGraphNode;
  x: number;
  y: number;
  h: number;
}

function layout(nodes: IGraphNode[]): {
  placed: Map<string, IPlaced>;
  width: number;
  height: number;
} {
  const depth = depths(nodes);
  const columns: IGraphNode[][] = [];
  for (const n of nodes) {
    const d = depth.get(n.name) ?? 0;
    (columns[d] = columns[d] ?? []).push(n);
  }
  const colHeights = columns.map(
    col =>
      (col ?? []).reduce((sum, n) => sum + nodeHeight(n), 0) +
      GAP_Y * Math.max(0, (col ?? []).length - 1)
  );
  const height = Math.max(HEAD_H, ...colHeights) + 2 * PAD;
  const placed = new Map<string, IPlaced>();
  columns.forEach((col, d) => {
    let y = PAD + (height - 2 * PAD - colHeights[d]) / 2;
    for (const n of col ?? []) {
      const h = nodeHeight(n);
      placed.set(n.name, { node: n, x: PAD + d * (NODE_W + GAP_X), y, h });
      y += h + GAP_Y;
    }
  });
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  return { placed, width, height };
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

function nodeSubtitle(node: IGraphNode): string {
  if (node.tasks.length === 0) {
    return 'Not started';
  }
  if (node.fanOut) {
    const done = node.tasks.filter(t => t.state === 'succeeded').length;
    return `${stateLabel(node.state)} · ${done}/${node.tasks.length} items`;
  }
  const t = node.tasks[0];
  const parts = [stateLabel(t.state)];
  if (t.attempts > 1) {
    parts.push(`${t.attempts} attempts`);
  }
  return parts.join(' · ');
}

export function TaskGraph(props: {
  nodes: IGraphNode[];
  selected: string | null;
  attemptTimes: Map<string, { start: string; end?: string | null }>;
  onSelect: (taskKey: string) => void;
}): JSX.Element {
  const { placed, width, height } = layout(props.nodes);
  const edges: JSX.Element[] = [];
  for (const p of placed.values()) {
    for (const dep of p.node.dependsOn) {
      const from = placed.get(dep);
      if (!from) {
        continue;
      }
      const x1 = from.x + NODE_W;
      const y1 = from.y + from.h / 2;
      const x2 = p.x;
      const y2 = p.y + p.h / 2;
      const mx = (x1 + x2) / 2;
      edges.push(
        <path
          key={`${dep}->${p.node.name}`}
          className={'awr-Graph-edge awr-state-' + from.node.state}
          d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`}
          markerEnd="url(#awr-graph-arrow)"
        />
      );
    }
  }
  return (
    <div className="awr-GraphScroll">
      <svg
        data-testid="task-graph"
        className="awr-Graph"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="Task graph"
      >
        <defs>
          <marker
            id="awr-graph-arrow"
            viewBox="0 0 10 10"
            refX="4"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" className="awr-Graph-arrow" />
          </marker>
        </defs>
        <g>{edges}</g>
        {[...placed.values()].map(p => {
          const n = p.node;
          const single = !n.fanOut && n.tasks.length === 1 ? n.tasks[0] : null;
          const key = single ? single.task_key : n.name;
          const times = single ? props.attemptTimes.get(single.task_key) : undefined;
          const items = n.fanOut ? n.tasks.slice(0, MAX_ITEMS) : [];
          return (
            <g
              key={n.name}
              className={
                'awr-Graph-node awr-state-' +
                n.state +
                (props.selected === key ? ' awr-mod-selected' : '')
              }
              data-task={n.name}
              data-state={n.state}
              transform={`translate(${p.x},${p.y})`}
              onClick={() => props.onSelect(key)}
              role="button"
            >
              <title>{`${n.name}: ${stateLabel(n.state)}`}</title>
              <rect className="awr-Graph-box" width={NODE_W} height={p.h} rx={6} />
              <path
                className="awr-Graph-bar"
                d={`M6,0.5 H7 V${p.h - 0.5} H6 A5.5,5.5 0 0 1 0.5,${p.h - 6} V6 A5.5,5.5 0 0 1 6,0.5 Z`}
              />
              <text className="awr-Graph-name" x={16} y={19}>
                {truncate(n.name, 22)}
              </text>
              <text className="awr-Graph-sub" x={16} y={36}>
                {truncate(nodeSubtitle(n), 28)}
                {times ? `  ${durationBetween(times.start, times.end)}` : ''}
              </text>
              {n.state === 'running' && (
                <circle className="awr-Graph-pulse" cx={NODE_W - 14} cy={16} r={4} />
              )}
              {items.map((t, i) => (
                <g
                  key={t.task_key}
                  className={'awr-Graph-item awr-state-' + t.state}
                  transform={`translate(12,${HEAD_H + i * ITEM_H})`}
                  onClick={e => {
                    e.stopPropagation();
                    props.onSelect(t.task_key);
                  }}
                >
                  <title>{`${t.task_key}: ${stateLabel(t.state)}`}</title>
                  <rect
                    className="awr-Graph-itemBox"
                    width={NODE_W - 24}
                    height={ITEM_H - 3}
                    rx={3}
                  />
                  <circle className="awr-Graph-dot" cx={9} cy={(ITEM_H - 3) / 2} r={3.5} />
                  <text className="awr-Graph-itemText" x={19} y={12.5}>
                    {truncate(
                      t.item_value !== null && t.item_value !== undefined
                        ? `[${t.item_index}] ${typeof t.item_value === 'object' ? JSON.stringify(t.item_value) : String(t.item_value)}`
                        : t.task_key,
                      24
                    )}
                  </text>
                </g>
              ))}
              {n.fanOut && n.tasks.length > MAX_ITEMS && (
                <text className="awr-Graph-sub" x={16} y={HEAD_H + MAX_ITEMS * ITEM_H + 12}>
                  {`+${n.tasks.length - MAX_ITEMS} more`}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
