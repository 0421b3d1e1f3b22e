// The admission counter, created on whatever prom-client registry the
// caller passes (the edge's own Metrics registry). Small interface so the
// service can be tested with a plain recorder.
import { Counter, type Registry } from 'prom-client';

export interface AdmissionCounter {
  inc(labels: { readonly method: string; readonly outcome: string }): void;
}

/** mse_sip_admissions_total{method, outcome}: every INVITE/OPTIONS judged, by outcome. */
export function admissionCounter(registry: Registry): AdmissionCounter {
  const counter = new Counter({
    name: 'mse_sip_admissions_total',
    help: 'SIP requests from trunks judged by the edge (drachtio admission), by method and outcome',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  return { inc: (labels) => counter.inc({ method: labels.method, outcome: labels.outcome }) };
}
