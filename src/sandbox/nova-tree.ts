// The metadata tree nova serves an instance, as pure data and one lookup,
// for the fake nova (fake-nova.ts). Layout and rendering follow nova master:
// nova/api/metadata/base.py (InstanceMetadata.lookup, get_ec2_metadata,
// _metadata_as_json, _handle_version, RouteConfiguration, ec2_md_print,
// find_path_in_tree) and nova/api/metadata/handler.py (MetadataRequestHandler
// answers "/" with the EC2 version list):
//   - a path not under `/openstack` or `/ec2` is an EC2 path (`/latest/…`
//     means `/ec2/latest/…`); trailing slashes do not matter (normpath);
//   - `/openstack` lists the OpenStack versions then `latest`; a version
//     lists meta_data.json, user_data (when there is one), password,
//     vendor_data.json, network_data.json, vendor_data2.json by version;
//   - EC2 `latest` is 2009-04-04; a directory lists its keys sorted, a
//     sub-tree as `key/`, public keys as `0=name`; a list is one per line;
//   - meta_data.json and vendor_data*.json are application/json, the rest
//     text/plain (network_data.json too: nova sets no type for it).
// Two deliberate differences, kept for the tests that predate this tree:
// EC2 instance-id is the instance uuid (nova: `i-0000000a`), and the password
// path answers POST with '' and GET with the request's own body (a relay test).
export const EC2_VERSIONS = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2007-08-29',
  '2007-10-10',
  '2007-12-15',
  '2008-02-01',
  '2008-09-01',
  '2009-04-04',
] as const;

export const OPENSTACK_VERSIONS = [
  '2012-08-10', // FOLSOM
  '2013-04-04', // GRIZZLY: random_seed, password
  '2013-10-17', // HAVANA: vendor_data.json
  '2015-10-15', // LIBERTY: project_id, network_data.json
  '2016-06-30', // NEWTON_ONE: devices
  '2016-10-06', // NEWTON_TWO: vendor_data2.json
  '2017-02-22', // OCATA
  '2018-08-27', // ROCKY
  '2020-10-14', // VICTORIA: dedicated_cpus
  '2025-04-04', // EPOXY
] as const;

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=UTF-8';

/** What nova knows of an instance, as far as its metadata shows it. */
export interface NovaInstance {
  readonly uuid: string;
  readonly projectId: string;
  readonly name: string;
  readonly hostname: string;
  readonly availabilityZone: string;
  readonly launchIndex: number;
  readonly reservationId: string;
  readonly flavor: string;
  /** EC2 local-ipv4; default the requester's address (X-Forwarded-For), as nova falls back to. */
  readonly fixedIp?: string;
  readonly userData?: string;
  readonly keypair?: { readonly name: string; readonly type: string; readonly publicKey: string };
  /** `nova boot --meta`. */
  readonly meta: Readonly<Record<string, string>>;
  /** Injected files (`files` in meta_data.json, served under /openstack/content/NNNN). */
  readonly files: readonly { readonly path: string; readonly contents: string }[];
  readonly networkData: unknown;
  /** StaticJSON vendor data (vendor_data.json; vendor_data2.json has it under `static`). */
  readonly vendorData: unknown;
  readonly securityGroups: readonly string[];
}

export function defaultInstance(uuid: string, projectId: string): NovaInstance {
  return {
    uuid,
    projectId,
    name: `vm-${uuid}`,
    hostname: `vm-${uuid.slice(0, 8)}`.toLowerCase(),
    availabilityZone: 'nova',
    launchIndex: 0,
    reservationId: `r-${uuid.slice(0, 8)}`,
    flavor: 'm1.tiny',
    meta: {},
    files: [],
    networkData: { links: [], networks: [], services: [] },
    vendorData: {},
    securityGroups: ['default'],
  };
}

export interface NovaRequest {
  readonly method: string;
  /** Path with or without a query string. */
  readonly url: string;
  readonly body: string;
  /** X-Forwarded-For: the VM's address. */
  readonly remoteAddress?: string;
}

export interface NovaReply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

type Tree = { readonly [key: string]: Node };
type Node = string | number | readonly string[] | Tree;

const notFound: NovaReply = { status: 404, body: 'Not Found', contentType: TEXT_TYPE };
const text = (body: string, contentType = TEXT_TYPE): NovaReply => ({ status: 200, body, contentType });

/** nova's answer to a signed request for `instance`. */
export function novaLookup(instance: NovaInstance, request: NovaRequest): NovaReply {
  const tokens = normalize(request.url.split('?')[0] ?? '/');
  if (tokens[0] !== 'ec2' && tokens[0] !== 'openstack') tokens.unshift('ec2');
  if (tokens[0] === 'ec2' && tokens[1] === '') tokens.pop();
  if (tokens.length === 1) {
    return text(
      render(tokens[0] === 'openstack' ? [...OPENSTACK_VERSIONS, 'latest'] : [...EC2_VERSIONS, 'latest']),
    );
  }
  return tokens[0] === 'openstack'
    ? openstack(instance, tokens.slice(1), request)
    : ec2(instance, tokens.slice(1), request);
}

/** posixpath.normpath, split: '/a//b/../c/' -> ['a', 'c']; '/' -> ['']. */
function normalize(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.length === 0 ? [''] : out;
}

function atLeast<T extends string>(versions: readonly T[], required: T, requested: T): boolean {
  return versions.indexOf(requested) >= versions.indexOf(required);
}

// --- OpenStack ---------------------------------------------------------------

function openstack(instance: NovaInstance, tokens: string[], request: NovaRequest): NovaReply {
  const [head = '', ...rest] = tokens;
  if (head === 'content') {
    const file = rest.length === 1 ? instance.files[Number.parseInt(rest[0]!, 10)] : undefined;
    return rest.length === 1 && /^\d{4}$/.test(rest[0]!) && file ? text(file.contents) : notFound;
  }
  const version = head === 'latest' ? OPENSTACK_VERSIONS.at(-1)! : head;
  if (!(OPENSTACK_VERSIONS as readonly string[]).includes(version)) return notFound;
  const v = version as (typeof OPENSTACK_VERSIONS)[number];
  const since = (required: (typeof OPENSTACK_VERSIONS)[number]): boolean =>
    atLeast(OPENSTACK_VERSIONS, required, v);
  const item = rest.join('/');
  switch (item) {
    case '':
      return text(
        render([
          'meta_data.json',
          ...(instance.userData === undefined ? [] : ['user_data']),
          ...(since('2013-04-04') ? ['password'] : []),
          ...(since('2013-10-17') ? ['vendor_data.json'] : []),
          ...(since('2015-10-15') ? ['network_data.json'] : []),
          ...(since('2016-10-06') ? ['vendor_data2.json'] : []),
        ]),
      );
    case 'meta_data.json':
      return text(JSON.stringify(metaDataJson(instance, since)), JSON_TYPE);
    case 'user_data':
      return instance.userData === undefined ? notFound : text(instance.userData);
    case 'password':
      if (!since('2013-04-04')) return notFound;
      return text(request.method === 'POST' ? '' : request.body);
    case 'vendor_data.json':
      return since('2013-10-17') ? text(JSON.stringify(instance.vendorData), JSON_TYPE) : notFound;
    case 'vendor_data2.json':
      return since('2016-10-06')
        ? text(JSON.stringify({ static: instance.vendorData }), JSON_TYPE)
        : notFound;
    case 'network_data.json':
      return since('2015-10-15') ? text(JSON.stringify(instance.networkData)) : notFound;
    default:
      return notFound;
  }
}

function metaDataJson(
  instance: NovaInstance,
  since: (required: (typeof OPENSTACK_VERSIONS)[number]) => boolean,
): Record<string, unknown> {
  const md: Record<string, unknown> = { uuid: instance.uuid };
  if (Object.keys(instance.meta).length > 0) md.meta = instance.meta;
  if (instance.files.length > 0) {
    md.files = instance.files.map((f, i) => ({ path: f.path, content_path: `/content/${contentKey(i)}` }));
  }
  if (instance.keypair) {
    md.public_keys = { [instance.keypair.name]: instance.keypair.publicKey };
    md.keys = [
      { name: instance.keypair.name, type: instance.keypair.type, data: instance.keypair.publicKey },
    ];
  }
  md.hostname = instance.hostname;
  md.name = instance.name;
  md.launch_index = instance.launchIndex;
  md.availability_zone = instance.availabilityZone;
  // Fixed, not random: the same answer every time (nova: 512 random bytes).
  if (since('2013-04-04')) md.random_seed = Buffer.from(`seed-${instance.uuid}`).toString('base64');
  if (since('2015-10-15')) md.project_id = instance.projectId;
  if (since('2016-06-30')) md.devices = [];
  if (since('2020-10-14')) md.dedicated_cpus = [];
  return md;
}

function contentKey(index: number): string {
  return String(index).padStart(4, '0');
}

// --- EC2 ---------------------------------------------------------------------

function ec2(instance: NovaInstance, tokens: string[], request: NovaRequest): NovaReply {
  const [head = '', ...path] = tokens;
  const version = head === 'latest' ? EC2_VERSIONS.at(-1)! : head;
  if (!(EC2_VERSIONS as readonly string[]).includes(version)) return notFound;
  let node: Node = ec2Tree(instance, version as (typeof EC2_VERSIONS)[number], request.remoteAddress);
  for (const token of path) {
    if (typeof node !== 'object' || Array.isArray(node)) return notFound;
    const next: Node | undefined = (node as Tree)[token];
    if (next === undefined || token === '_name') return notFound;
    node = next;
  }
  return text(render(node));
}

function ec2Tree(
  instance: NovaInstance,
  version: (typeof EC2_VERSIONS)[number],
  remoteAddress: string | undefined,
): Tree {
  const since = (required: (typeof EC2_VERSIONS)[number]): boolean =>
    atLeast(EC2_VERSIONS, required, version);
  const md: Record<string, Node> = {
    'ami-id': 'ami-00000001',
    'ami-launch-index': instance.launchIndex,
    'ami-manifest-path': 'FIXME',
    'instance-id': instance.uuid,
    hostname: instance.hostname,
    'local-ipv4': instance.fixedIp ?? remoteAddress ?? '',
    'reservation-id': instance.reservationId,
    'security-groups': instance.securityGroups,
  };
  if (instance.keypair) {
    md['public-keys'] = {
      '0': { _name: `0=${instance.keypair.name}`, 'openssh-key': instance.keypair.publicKey },
    };
  }
  if (since('2007-01-19')) {
    md['local-hostname'] = instance.hostname;
    md['public-hostname'] = instance.hostname;
    md['public-ipv4'] = '';
  }
  if (since('2007-08-29')) md['instance-type'] = instance.flavor;
  if (since('2007-12-15')) md['block-device-mapping'] = { ami: 'vda', root: '/dev/vda' };
  if (since('2008-02-01')) md.placement = { 'availability-zone': instance.availabilityZone };
  if (since('2008-09-01')) md['instance-action'] = 'none';
  const data: Record<string, Node> = { 'meta-data': md };
  if (instance.userData !== undefined) data['user-data'] = instance.userData;
  return data;
}

/** base.ec2_md_print. */
function render(node: Node): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.join('\n');
  const tree = node as Tree;
  return Object.keys(tree)
    .filter((k) => k !== '_name')
    .sort()
    .map((k) => {
      const child = tree[k]!;
      if (typeof child === 'object' && !Array.isArray(child)) {
        const name = (child as Tree)._name;
        return typeof name === 'string' ? name : `${k}/`;
      }
      return k;
    })
    .join('\n');
}
