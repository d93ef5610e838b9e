/**
 * The process's Prometheus metrics: one prom-client Registry per host (never prom-client's global
 * default registry, so an application embedding roster-bot keeps its own clean), the default
 * process metrics, and metrics plugins register through their context with the `bot` label bound.
 *
 * A metric is shared by every bot that registers it (same name, same kind and labels); a bot's
 * series are removed when its plugin stops, and the metric itself when no bot uses it any more.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface MetricOptions<L extends string = string> {
  /** Full metric name, e.g. roster_bot_widgets_total. */
  name: string;
  help: string;
  /** Label names besides `bot`, which is always there. Never a contact's JID: one series per contact does not scale. */
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string = string> extends MetricOptions<L> {
  /** Upper bounds in the metric's unit (default: prom-client's, suited to seconds). */
  buckets?: readonly number[];
}

export interface GaugeOptions<L extends string = string> extends MetricOptions<L> {
  /** Read at each scrape: the value for this bot (only for a gauge without further labels). */
  collect?: () => number;
}

export type Labels<L extends string> = Partial<Record<L, string | number>>;

/** A counter with this bot's label bound. */
export interface BotCounter<L extends string = string> {
  inc(labels?: Labels<L>, value?: number): void;
}

/** A gauge with this bot's label bound. */
export interface BotGauge<L extends string = string> {
  set(value: number, labels?: Labels<L>): void;
  inc(labels?: Labels<L>, value?: number): void;
  dec(labels?: Labels<L>, value?: number): void;
}

/** A histogram with this bot's label bound. */
export interface BotHistogram<L extends string = string> {
  observe(value: number, labels?: Labels<L>): void;
  /** Starts a timer; calling the result observes the seconds elapsed. */
  startTimer(labels?: Labels<L>): () => void;
}

/** What `ctx.metrics` offers a plugin. */
export interface PluginMetrics {
  counter<L extends string = never>(options: MetricOptions<L>): BotCounter<L>;
  gauge<L extends string = never>(options: GaugeOptions<L>): BotGauge<L>;
  histogram<L extends string = never>(options: HistogramOptions<L>): BotHistogram<L>;
}

type Kind = "counter" | "gauge" | "histogram";
type AnyMetric = Counter | Gauge | Histogram;
type LabelValues = Record<string, string | number>;

interface Shared {
  kind: Kind;
  signature: string;
  metric: AnyMetric;
  /** Per bot: the label sets it used (to remove them) and how many registrations hold it. */
  bots: Map<string, { series: Map<string, LabelValues>; holders: number; collect?: () => number }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly shared = new Map<string, Shared>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Metrics for one bot: what it registers carries `bot="<id>"`, removed by the returned dispose. */
  forBot(bot: string): PluginMetrics & { dispose(): void } {
    const held: { name: string; release: () => void }[] = [];
    const bind = <T>(kind: Kind, options: MetricOptions & { buckets?: readonly number[]; collect?: () => number }, make: (m: AnyMetric, series: Map<string, LabelValues>) => T): T => {
      const { entry, series, release } = this.acquire(kind, options, bot);
      held.push({ name: options.name, release });
      return make(entry.metric, series);
    };
    return {
      counter: <L extends string>(options: MetricOptions<L>) =>
        bind("counter", options, (m, series) => {
          const c = m as Counter;
          return { inc: (labels?: Labels<L>, value = 1) => c.inc(track(series, bot, labels), value) };
        }),
      gauge: <L extends string>(options: GaugeOptions<L>) =>
        bind("gauge", options, (m, series) => {
          const g = m as Gauge;
          return {
            set: (value: number, labels?: Labels<L>) => g.set(track(series, bot, labels), value),
            inc: (labels?: Labels<L>, value = 1) => g.inc(track(series, bot, labels), value),
            dec: (labels?: Labels<L>, value = 1) => g.dec(track(series, bot, labels), value),
          };
        }),
      histogram: <L extends string>(options: HistogramOptions<L>) =>
        bind("histogram", options, (m, series) => {
          const h = m as Histogram;
          return {
            observe: (value: number, labels?: Labels<L>) => h.observe(track(series, bot, labels), value),
            startTimer: (labels?: Labels<L>) => h.startTimer(track(series, bot, labels)),
          };
        }),
      dispose: () => {
        for (const { release } of held.splice(0).reverse()) release();
      },
    };
  }

  private acquire(kind: Kind, options: MetricOptions & { buckets?: readonly number[]; collect?: () => number }, bot: string) {
    const labelNames = ["bot", ...(options.labelNames ?? [])];
    if (!NAME.test(options.name)) throw new Error(`metric name "${options.name}" is not a valid Prometheus name`);
    if (options.collect && labelNames.length > 1) throw new Error(`metric "${options.name}": a collected gauge has no labels besides bot`);
    const signature = JSON.stringify([kind, labelNames, options.buckets ?? null, !!options.collect]);
    let entry = this.shared.get(options.name);
    if (entry && entry.signature !== signature) {
      throw new Error(`metric "${options.name}" is already registered as another ${entry.kind} or with other labels`);
    }
    if (!entry) {
      if (this.registry.getSingleMetric(options.name)) throw new Error(`metric "${options.name}" is already registered by the host`);
      entry = { kind, signature, metric: undefined as unknown as AnyMetric, bots: new Map() };
      entry.metric = this.create(kind, options, labelNames, entry);
      this.shared.set(options.name, entry);
    }
    let perBot = entry.bots.get(bot);
    if (!perBot) {
      perBot = { series: new Map(), holders: 0, collect: options.collect };
      entry.bots.set(bot, perBot);
    }
    perBot.holders++;
    const own = perBot;
    const shared = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--own.holders > 0) return;
      for (const labels of own.series.values()) shared.metric.remove(labels);
      if (own.collect) shared.metric.remove({ bot });
      shared.bots.delete(bot);
      if (shared.bots.size === 0) {
        this.registry.removeSingleMetric(options.name);
        this.shared.delete(options.name);
      }
    };
    return { entry, series: own.series, release };
  }

  private create(kind: Kind, options: MetricOptions & { buckets?: readonly number[] }, labelNames: string[], entry: Shared): AnyMetric {
    const base = { name: options.name, help: options.help, labelNames, registers: [this.registry] };
    if (kind === "counter") return new Counter(base);
    if (kind === "histogram") return new Histogram({ ...base, ...(options.buckets ? { buckets: [...options.buckets] } : {}) });
    const collected = (options as GaugeOptions).collect !== undefined;
    return new Gauge({
      ...base,
      ...(collected
        ? {
            collect(this: Gauge) {
              for (const [bot, { collect }] of entry.bots) if (collect) this.set({ bot }, collect());
            },
          }
        : {}),
    });
  }
}

/** The labels with `bot` added; the set is remembered so the bot's series can be removed. */
function track(series: Map<string, LabelValues>, bot: string, labels: Labels<string> | undefined): LabelValues {
  const values: LabelValues = { bot, ...(labels as LabelValues | undefined) };
  values.bot = bot; // first in the exposition, and never a plugin's own value
  const key = JSON.stringify(values);
  if (!series.has(key)) series.set(key, values);
  return values;
}
