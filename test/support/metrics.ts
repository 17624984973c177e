import type { Registry } from 'prom-client';

/** A counter's value for the given labels (0 when that series has no sample yet). */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const sample = values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  );
  return sample?.value ?? 0;
}
