import { describe, expect, it } from 'vitest';
import { NAMESPACE_PREFIX, namespaceName, vethNames } from '../../../src/namespace/index.js';

describe('neutron names', () => {
  const net = '76af9baf-9fa4-4631-8f1d-5610ef87a036';

  it('names the namespace ovnmeta-<network id>', () => {
    expect(namespaceName(net)).toBe('ovnmeta-76af9baf-9fa4-4631-8f1d-5610ef87a036');
    expect(namespaceName(net).startsWith(NAMESPACE_PREFIX)).toBe(true);
  });

  it("names the veth pair tap + first 10 characters + 0/1, as neutron's example", () => {
    expect(vethNames(net)).toEqual({ root: 'tap76af9baf-90', inside: 'tap76af9baf-91' });
    expect(vethNames(net).root).toHaveLength(14); // fits IFNAMSIZ - 1
  });
});
