// A network's metadata address already taken in its namespace (a leftover
// haproxy, kolla's neutron_agents_wrappers or EDPM's neutron-haproxy-<ns>
// sidecar): the error names the process that holds it, not a bare
// EADDRINUSE (docs/deploy.md, migration).
import { describeHolders, portHolders, type NamespaceEnv } from '../namespace/index.js';
import { ProxyListenFailedError } from '../proxy/index.js';

/** `err` itself, or, for an address in use, the same error whose reason names the holder. */
export async function explainListenFailure(
  err: unknown,
  namespace: string | undefined,
  env: Partial<NamespaceEnv> = {},
): Promise<unknown> {
  if (!(err instanceof ProxyListenFailedError) || namespace === undefined) return err;
  if ((err.cause as { code?: unknown } | undefined)?.code !== 'EADDRINUSE') return err;
  const at = /^(.*):(\d+)$/.exec(err.address);
  if (!at) return err;
  const host = at[1]!.replace(/^\[|\]$/g, '');
  const holders = await portHolders(namespace, host, Number(at[2]), env);
  return new ProxyListenFailedError(
    err.target,
    err.address,
    `${err.reason}: held by ${describeHolders(holders)}; stop it (docs/deploy.md, migration)`,
    { cause: err.cause },
  );
}
