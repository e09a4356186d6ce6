// The packet a VM sends for metadata, and reading ovn-trace and ovs-ofctl.
import { describe, expect, it } from 'vitest';
import {
  describeTraceEnd,
  lastTraceStage,
  metadataMicroflow,
  parseTable0InPorts,
  traceOutputs,
  vmSource,
} from '../../../src/verify/index.js';
import { port } from '../agent/fixtures.js';

describe('metadataMicroflow', () => {
  it('an IPv4 VM: from its fixed IP to 169.254.169.254:80 at the metadata MAC', () => {
    const p = port({ logicalPort: 'vm1', mac: ['fa:16:3e:00:00:10 172.16.100.10 2001:db8::10'] });
    expect(metadataMicroflow(p, 'fa:16:3e:9d:cc:52')).toEqual({
      family: 4,
      sourceIp: '172.16.100.10',
      text:
        'inport == "vm1" && eth.src == fa:16:3e:00:00:10 && eth.dst == fa:16:3e:9d:cc:52 && ' +
        'ip4.src == 172.16.100.10 && ip4.dst == 169.254.169.254 && ip.ttl == 64 && tcp.dst == 80',
    });
  });

  it('an IPv6-only VM: from its EUI-64 link-local to fe80::a9fe:a9fe', () => {
    const p = port({ logicalPort: 'vm6', mac: ['FA:16:3E:00:00:10 2001:db8::10'] });
    expect(metadataMicroflow(p, 'fa:16:3e:9d:cc:52')?.text).toBe(
      'inport == "vm6" && eth.src == fa:16:3e:00:00:10 && eth.dst == fa:16:3e:9d:cc:52 && ' +
        'ip6.src == fe80::f816:3eff:fe00:10 && ip6.dst == fe80::a9fe:a9fe && ip.ttl == 64 && tcp.dst == 80',
    );
  });

  it('an IPv4 address in a later mac entry is preferred over IPv6 in the first', () => {
    const p = port({ mac: ['fa:16:3e:00:00:10 2001:db8::10', 'fa:16:3e:00:00:11 10.0.0.5'] });
    expect(vmSource(p)).toEqual({ family: 4, mac: 'fa:16:3e:00:00:11', ip: '10.0.0.5' });
  });

  it('a port with no address (unknown, or a bare MAC) has no microflow', () => {
    expect(metadataMicroflow(port({ mac: ['unknown'] }), 'fa:16:3e:9d:cc:52')).toBeUndefined();
    expect(metadataMicroflow(port({ mac: ['fa:16:3e:00:00:10'] }), 'fa:16:3e:9d:cc:52')).toBeUndefined();
  });

  it('quotes the port name as an OVN string literal', () => {
    expect(metadataMicroflow(port({ logicalPort: 'a"b' }), 'fa:16:3e:9d:cc:52')?.text).toMatch(
      /^inport == "a\\"b"/,
    );
  });
});

describe('reading ovn-trace', () => {
  it('lists the ports a minimal trace outputs to', () => {
    expect(traceOutputs('# tcp,...\noutput("meta");\n')).toEqual(['meta']);
    expect(traceOutputs('# arp\noutput("a");\noutput("b");')).toEqual(['a', 'b']);
    expect(traceOutputs('# tcp\n')).toEqual([]);
  });

  it('describes where a trace went instead', () => {
    expect(describeTraceEnd('# tcp,reg14=0x2\n')).toBe('is dropped');
    expect(describeTraceEnd('# x\noutput("other");')).toBe('ends in output("other")');
    expect(describeTraceEnd('unknown datapath "nope"\n')).toBe('ends in "unknown datapath \\"nope\\""');
  });

  it('finds the last stage of a detailed trace, without the northd source location', () => {
    const detailed = [
      'ingress(dp="neutron-x", inport="vm1")',
      '--------------------------------------',
      ' 0. ls_in_port_sec_l2 (northd.c:5598): inport == "vm1", priority 50, uuid 8ce7bb25',
      '    next;',
      '19. ls_in_l2_lkup: no match (implicit drop)',
    ].join('\n');
    expect(lastTraceStage(detailed)).toBe('ls_in_l2_lkup: no match (implicit drop)');
    expect(lastTraceStage('nothing')).toBeUndefined();
  });
});

describe('parseTable0InPorts', () => {
  it('reads the in_port of every physical-to-logical flow, not the default drop', () => {
    // Recorded from ovs-ofctl 3.1 on a sandbox chassis (--no-names --no-stats).
    const dump = [
      'NXST_FLOW reply (xid=0x8):',
      ' cookie=0xd7d0fc4, table=0, priority=100,in_port=1 actions=load:0x3->NXM_NX_REG13[],load:0x1->NXM_NX_REG11[],load:0x2->NXM_NX_REG12[],load:0x1->OXM_OF_METADATA[],load:0x2->NXM_NX_REG14[],resubmit(,8)',
      ' cookie=0x161201dc, table=0, priority=100,in_port=12 actions=load:0x4->NXM_NX_REG13[],load:0x1->OXM_OF_METADATA[],load:0x1->NXM_NX_REG14[],load:0x1->NXM_NX_REG10[10],resubmit(,8)',
      ' cookie=0x0, table=0, priority=100,in_port=7 actions=drop',
      ' cookie=0x0, table=0, priority=0 actions=drop',
    ].join('\n');
    expect([...parseTable0InPorts(dump)].sort()).toEqual([1, 12]);
  });
});
