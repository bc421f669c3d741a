import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

const P = 'statsd_sepagent_injector_';

/** The injector's self-metrics, served on its `/metrics`. */
export class InjectorMetrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({
    name: `${P}admissions_total`,
    help: 'AdmissionReviews answered, by result: injected, skipped (not opted in, not a pod creation), already-injected, excluded (own namespace, kube-system), denied and warned (bad annotations), bad-request',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly classValid = new Gauge({
    name: `${P}class_valid`,
    help: '1 when the latest version of a class passed validation, 0 when it was rejected (its copies keep the last valid version)',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly classRejections = new Counter({
    name: `${P}class_rejections_total`,
    help: 'Class versions rejected by the daemon validator',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly copies = new Gauge({
    name: `${P}class_copies`,
    help: 'Namespaces holding a managed copy of a class',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly copyWrites = new Counter({
    name: `${P}copy_writes_total`,
    help: 'Class copies created, updated and deleted',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly foreignObjects = new Counter({
    name: `${P}copy_conflicts_total`,
    help: 'ConfigMaps found under a copy name that the injector does not manage (left alone)',
    registers: [this.registry],
  });
  readonly apiErrors = new Counter({
    name: `${P}api_errors_total`,
    help: 'Failed Kubernetes API calls, by operation',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly certificateLoads = new Counter({
    name: `${P}certificate_loads_total`,
    help: 'Serving certificate (re)loads, by result: ok, or error (the previous certificate stays)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: P });
  }
}
