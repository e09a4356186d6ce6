// One error shape across the layers: every error class a layer's catalogue
// exports extends CodedError, so `code`, `retryable` and `cause` are there
// and callers can branch with hasCode instead of duck typing.
import { describe, expect, it } from 'vitest';
import { CodedError, hasCode } from '../../../src/common/coded-error.js';
import * as agentConfig from '../../../src/agent/config/errors.js';
import * as namespace from '../../../src/namespace/errors.js';
import * as ovsdb from '../../../src/ovsdb/errors.js';
import * as proxy from '../../../src/proxy/errors.js';
import * as sandbox from '../../../src/sandbox/errors.js';
import * as verify from '../../../src/verify/errors.js';

const catalogues = { agentConfig, namespace, ovsdb, proxy, sandbox, verify };

const errorClasses = (
  module: Record<string, unknown>,
): [string, abstract new (...args: never[]) => Error][] =>
  Object.entries(module).filter(
    (e): e is [string, abstract new (...args: never[]) => Error] =>
      typeof e[1] === 'function' && e[1].prototype instanceof Error,
  );

describe('one error shape', () => {
  for (const [layer, module] of Object.entries(catalogues)) {
    it(`every error class of ${layer} extends CodedError`, () => {
      const classes = errorClasses(module);
      expect(classes.length).toBeGreaterThan(1);
      const outliers = classes.filter(([, cls]) => !(cls.prototype instanceof CodedError)).map(([n]) => n);
      expect(outliers).toEqual([]);
    });
  }

  it('hasCode branches on the code prefix, and only for our errors', () => {
    const err = new proxy.ProxyInvalidPortError('p1', 'bad mac');
    expect(hasCode(err)).toBe(true);
    expect(hasCode(err, 'PROXY_')).toBe(true);
    expect(hasCode(err, 'OVSDB_')).toBe(false);
    expect(hasCode(Object.assign(new Error('x'), { code: 'PROXY_INVALID_PORT' }), 'PROXY_')).toBe(false);
    expect(hasCode(undefined)).toBe(false);
    expect(err.name).toBe('ProxyInvalidPortError');
    expect(err.retryable).toBe(false);
  });

  it('keeps the cause when wrapping', () => {
    const cause = new Error('EACCES');
    const err = new agentConfig.AgentConfigFileUnreadableError('/etc/neutron/neutron.conf', { cause });
    expect(err.cause).toBe(cause);
    expect(err).toBeInstanceOf(agentConfig.AgentError);
    expect(hasCode(err, 'AGENT_CONFIG')).toBe(true);
  });
});
