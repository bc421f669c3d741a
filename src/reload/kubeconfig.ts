import { KubeConfig } from '@kubernetes/client-node';

/**
 * A kubeconfig from `path`, else KUBECONFIG, ~/.kube/config, then the in-cluster service
 * account, for code that runs client-node itself (the injector). Loading it loads the
 * whole client; the sidecar's ConfigMap source resolves its access in a child process.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
