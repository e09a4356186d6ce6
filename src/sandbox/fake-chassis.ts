// Other chassis, without their ovn-controller: a SB Chassis row (with its
// Chassis_Private, as ovn-controller would make it) that ports can be bound
// to with `ovn-sbctl lsp-bind`. Nobody owns those bindings, so they stay: a
// running ovn-controller only releases bindings to its own chassis that it
// did not make. For "VM on another host" and live-migration
// (additional_chassis) cases.
import { randomBytes } from 'node:crypto';
import { quote, type Chassis, type Owned } from './chassis.js';
import type { VmPort } from './neutron.js';

export class FakeChassis implements Owned {
  #removed = false;

  constructor(
    readonly chassis: Chassis,
    readonly name: string,
    /** SB Chassis._uuid */
    readonly uuid: string,
  ) {}

  /** Port_Binding.chassis = this chassis. */
  async bind(port: VmPort): Promise<void> {
    await this.chassis.sbctl('lsp-bind', port.name, this.name);
  }

  async unbind(port: VmPort): Promise<void> {
    await this.chassis.sbctl('lsp-unbind', port.name);
  }

  /** Adds this chassis to Port_Binding.additional_chassis (live migration target). */
  async addAdditional(port: VmPort): Promise<void> {
    const uuid = await portBindingUuid(this.chassis, port);
    await this.chassis.sbctl('add', 'Port_Binding', uuid, 'additional_chassis', this.uuid);
  }

  async removeAdditional(port: VmPort): Promise<void> {
    const uuid = await portBindingUuid(this.chassis, port);
    await this.chassis.sbctl('remove', 'Port_Binding', uuid, 'additional_chassis', this.uuid);
  }

  /** Deletes the Chassis and Chassis_Private rows (their bindings are cleared by the server). */
  async stop(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    this.chassis.disown(this);
    await this.chassis.sbctl('--if-exists', 'destroy', 'Chassis_Private', this.name).catch(() => undefined);
    await this.chassis.sbctl('--if-exists', 'chassis-del', this.name);
  }
}

async function portBindingUuid(chassis: Chassis, port: VmPort): Promise<string> {
  const uuid = await chassis.sbctl(
    '--bare',
    '--columns=_uuid',
    'find',
    'Port_Binding',
    `logical_port=${quote(port.name)}`,
  );
  if (uuid === '') throw new Error(`no Port_Binding for ${port.name}`);
  return uuid;
}

/** Adds a fake chassis to the SB of `chassis`; removed at chassis.stop(). */
export async function addFakeChassis(
  chassis: Chassis,
  name = `fake-${randomBytes(4).toString('hex')}`,
): Promise<FakeChassis> {
  // Encap IPs are never used (no tunnels here); a unique-ish loopback one per chassis.
  const encapIp = `127.0.${1 + ((randomBytes(1)[0] as number) % 254)}.${2 + ((randomBytes(1)[0] as number) % 252)}`;
  await chassis.sbctl('chassis-add', name, 'geneve', encapIp);
  const uuid = await chassis.sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${quote(name)}`);
  await chassis.sbctl('create', 'Chassis_Private', `name=${quote(name)}`, `chassis=${uuid}`);
  const fake = new FakeChassis(chassis, name, uuid);
  chassis.own(fake);
  return fake;
}

/** Binds `port` to a new fake chassis: a VM running on another host. */
export async function bindPortElsewhere(
  chassis: Chassis,
  port: VmPort,
  fake?: FakeChassis,
): Promise<FakeChassis> {
  const other = fake ?? (await addFakeChassis(chassis));
  await other.bind(port);
  return other;
}
