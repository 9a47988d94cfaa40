#!/usr/bin/env node
// Start Seam's fake server (@seamapi/fake-seam-connect) on 127.0.0.1 for tests.
//
// Usage:
//   node tools/seam-fake/server.mjs [--port N] [--standard-devices]
//                                   [--devices FILE_OR_JSON] [--watch-stdin]
//
//   --port N             port to listen on (default: a free port chosen at start)
//   --standard-devices   add the STANDARD_DEVICES below (Ultraloq, igloohome, ...)
//   --devices X          extra devices: a path to a JSON file, or inline JSON
//                        (starts with "[" or "{"). Format: see README.md.
//   --watch-stdin        exit when stdin closes (lets a parent process that dies
//                        without cleaning up take the server down with it), and
//                        read control commands from stdin (see CONTROL_OPS below)
//
// When the server accepts connections, ONE JSON line goes to stdout:
//   {"ready": true, "url": "http://127.0.0.1:PORT", "port": PORT,
//    "api_key": "...", "workspace_id": "...", "devices": {device_id: {...}}, ...}
// Everything else (the fake's own logging) goes to stderr. Exits 0 on
// SIGTERM / SIGINT (and stdin close with --watch-stdin); exits 1 on a startup error.

import fs from 'node:fs'
import net from 'node:net'
import process from 'node:process'
import readline from 'node:readline'

const startedAt = performance.now()

// The fake logs through console.*; keep stdout for the ready line only.
const writeStdout = process.stdout.write.bind(process.stdout)
for (const level of ['log', 'info', 'debug', 'trace']) {
  console[level] = (...args) => console.error(...args)
}

const SEED_WORKSPACE_ID = 'seed_workspace_1'
const SEED_API_KEY = 'seam_apikey1_token'

// Devices that the accesscodes tests rely on. Ids are stable: tests use them.
const STANDARD_DEVICES = [
  {
    device_id: 'ultraloq_device_tz',
    device_type: 'ultraloq_lock',
    name: 'Ultraloq with time zone',
    location: { time_zone: 'America/New_York', timezone: 'America/New_York' },
    properties: {
      manufacturer: 'ultraloq',
      supported_code_lengths: [4, 5, 6, 7, 8],
      ultraloq_metadata: {
        device_id: 'ulq-1',
        device_name: 'Ultraloq with time zone',
        device_type: 'U-Bolt Pro WiFi',
        time_zone: 'America/New_York',
      },
    },
  },
  {
    device_id: 'ultraloq_device_no_tz',
    device_type: 'ultraloq_lock',
    name: 'Ultraloq without time zone',
    properties: {
      manufacturer: 'ultraloq',
      supported_code_lengths: [4, 5, 6, 7, 8],
      ultraloq_metadata: {
        device_id: 'ulq-2',
        device_name: 'Ultraloq without time zone',
        device_type: 'U-Bolt Pro WiFi',
        time_zone: null,
      },
    },
    warnings: [
      {
        warning_code: 'ultraloq_time_zone_unknown',
        message: 'Time zone of the Ultraloq device is unknown.',
        created_at: '2024-01-01T00:00:00.000Z',
      },
    ],
  },
  {
    device_id: 'igloohome_device_1',
    device_type: 'igloohome_lock',
    name: 'igloohome keypad',
    can_program_offline_access_codes: true,
    properties: {
      manufacturer: 'igloohome',
      supports_offline_access_codes: true,
      offline_access_codes_enabled: true,
      online_access_codes_enabled: true,
      supported_code_lengths: [4, 5, 6, 7, 8, 9],
      max_active_codes_supported: 199,
      igloohome_metadata: {
        device_id: 'IGK3-1',
        device_name: 'igloohome keypad',
        bridge_id: 'IGB-1',
        bridge_name: 'igloohome bridge',
      },
    },
  },
  {
    device_id: 'lockly_device_1',
    device_type: 'lockly_lock',
    name: 'Lockly Vision',
    can_program_offline_access_codes: true,
    properties: {
      manufacturer: 'lockly',
      supports_offline_access_codes: true,
      offline_access_codes_enabled: true,
      online_access_codes_enabled: true,
      supported_code_lengths: [6, 7, 8],
      lockly_metadata: {
        device_id: 'lockly-1',
        device_name: 'Lockly Vision',
        model: 'PGD798',
      },
    },
  },
  {
    device_id: 'dormakaba_oracode_door_1',
    device_type: 'dormakaba_oracode_door',
    name: 'Room 101',
    can_program_online_access_codes: false,
    can_remotely_lock: false,
    can_remotely_unlock: false,
    can_program_offline_access_codes: true,
    capabilities_supported: ['access_code'],
    location: { location_name: 'Seaside Hotel', time_zone: 'Europe/Zurich', timezone: 'Europe/Zurich' },
    properties: {
      manufacturer: 'dormakaba_oracode',
      supports_offline_access_codes: true,
      offline_access_codes_enabled: true,
      online_access_codes_enabled: false,
      dormakaba_oracode_metadata: {
        door_id: 101,
        door_name: 'Room 101',
        door_is_wireless: true,
        site_id: 7,
        site_name: 'Seaside Hotel',
        iana_timezone: 'Europe/Zurich',
        predefined_time_slots: [
          {
            name: 'Guest 15:00-11:00',
            check_in_time: '15:00:00[Europe/Zurich]',
            check_out_time: '11:00:00[Europe/Zurich]',
            is_24_hour: false,
            is_biweekly_mode: false,
            is_one_shot: false,
            is_master: false,
            prefix: 1,
            dormakaba_oracode_user_level_prefix: 1,
            dormakaba_oracode_user_level_id: '00000000-0000-4000-8000-000000000001',
          },
        ],
      },
    },
  },
  {
    device_id: 'constrained_lock_1',
    device_type: 'nuki_lock',
    name: 'Constrained lock',
    properties: {
      manufacturer: 'nuki',
      max_active_codes_supported: 3,
      supported_code_lengths: [6],
      code_constraints: [
        { constraint_type: 'no_zeros' },
        { constraint_type: 'cannot_start_with_12' },
        { constraint_type: 'no_all_same_digits' },
        { constraint_type: 'name_length', max_length: 20 },
      ],
    },
  },
]

// addDevice() takes only these top-level keys (everything else is dropped),
// so the rest are applied afterwards with updateDevice().
const ADD_DEVICE_KEYS = new Set([
  'device_id',
  'device_type',
  'display_name',
  'connected_account_id',
  'workspace_id',
  'name',
  'properties',
  'can_remotely_lock',
  'can_remotely_unlock',
  'can_program_online_access_codes',
  'errors',
  'warnings',
  'created_at',
  'custom_metadata',
  'space_ids',
])
const SPEC_ONLY_KEYS = new Set(['access_codes', 'provider'])

const fail = (message) => {
  console.error(`seam-fake: ${message}`)
  process.exit(1)
}

const parseArgs = (argv) => {
  const opts = { port: null, standardDevices: false, devices: [], watchStdin: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--port') {
      const port = Number(value())
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail('bad --port')
      opts.port = port === 0 ? null : port
    } else if (arg === '--standard-devices') opts.standardDevices = true
    else if (arg === '--watch-stdin') opts.watchStdin = true
    else if (arg === '--devices') opts.devices.push(...loadDeviceSpecs(value()))
    else if (arg === '--help' || arg === '-h') {
      writeStdout(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n\n')[0] + '\n')
      process.exit(0)
    } else fail(`unknown argument ${arg}`)
  }
  return opts
}

const loadDeviceSpecs = (source) => {
  const text = /^\s*[[{]/.test(source) ? source : fs.readFileSync(source, 'utf8')
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    fail(`--devices is not valid JSON: ${err.message}`)
  }
  const list = Array.isArray(parsed) ? parsed : parsed.devices
  if (!Array.isArray(list)) fail('--devices must be a JSON array or {"devices": [...]}')
  for (const spec of list) {
    if (spec == null || typeof spec !== 'object') fail('each device must be an object')
    if (typeof spec.device_type !== 'string') fail('each device needs a "device_type"')
  }
  return list
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

// The fake calls server.listen(port) with no host, i.e. on every interface.
// Pin it to loopback while it starts.
const withLoopbackListen = async (fn) => {
  const original = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
      args.splice(1, 0, '127.0.0.1')
    }
    return original.apply(this, args)
  }
  try {
    return await fn()
  } finally {
    net.Server.prototype.listen = original
  }
}

const addDevices = (db, specs) => {
  const accounts = new Map()
  const added = []
  for (const spec of specs) {
    const workspace_id = spec.workspace_id ?? SEED_WORKSPACE_ID
    const provider = spec.provider ?? spec.properties?.manufacturer ?? spec.device_type.split('_')[0]
    let connected_account_id = spec.connected_account_id
    if (connected_account_id == null) {
      const key = `${workspace_id}/${provider}`
      if (!accounts.has(key)) {
        const account = db.addConnectedAccount({
          provider,
          workspace_id,
          user_identifier: { email: `${provider}@example.com` },
          connected_account_id: `${provider}_connected_account_${accounts.size + 1}`,
        })
        accounts.set(key, account.connected_account_id)
      }
      connected_account_id = accounts.get(key)
    }
    const name = spec.name ?? spec.properties?.name ?? spec.device_id ?? spec.device_type
    const params = {
      can_program_online_access_codes: true,
      can_remotely_lock: true,
      can_remotely_unlock: true,
      display_name: name,
      ...Object.fromEntries(Object.entries(spec).filter(([k]) => ADD_DEVICE_KEYS.has(k))),
      name,
      workspace_id,
      connected_account_id,
      properties: { online: true, ...spec.properties },
    }
    // addDevice() sets properties.name from `name` only when properties has none.
    params.properties.name ??= params.name
    let device = db.addDevice(params)
    const extra = Object.fromEntries(
      Object.entries(spec).filter(([k]) => !ADD_DEVICE_KEYS.has(k) && !SPEC_ONLY_KEYS.has(k)),
    )
    if (Object.keys(extra).length > 0) {
      device = db.updateDevice({ device_id: device.device_id, ...extra })
    }
    for (const code of spec.access_codes ?? []) {
      const is_time_bound = code.starts_at != null && code.ends_at != null
      db.addAccessCode({
        type: is_time_bound ? 'time_bound' : 'ongoing',
        ...code,
        device_id: device.device_id,
        workspace_id,
        name: code.name ?? 'Seeded code',
        code: code.code,
      })
    }
    added.push(device.device_id)
  }
  return added
}

// Control channel (with --watch-stdin): one JSON command per stdin line, one JSON
// reply per stdout line. Changes state that no HTTP route can (there is none to
// move a code to "set", add a warning, or take a device offline):
//   {"id": 1, "op": "update_access_code", "args": {"access_code_id": "...", "status": "set"}}
//   {"id": 2, "op": "update_device", "args": {"device_id": "...", "properties": {"online": false}}}
//   {"id": 3, "op": "add_access_code", "args": {"device_id": "...", "name": "...", "code": "1234"}}
//   {"id": 4, "op": "delete_access_code", "args": {"access_code_id": "..."}}
//   {"id": 5, "op": "ping"}
// Reply: {"reply": id, "ok": true, "result": ...} or {"reply": id, "ok": false, "error": "..."}.
const CONTROL_OPS = {
  ping: () => 'pong',
  update_access_code: (db, args) => db.updateAccessCode(args),
  delete_access_code: (db, { access_code_id }) => {
    db.deleteAccessCode(access_code_id)
    return null
  },
  add_access_code: (db, args) => {
    const device = db.devices.find((d) => d.device_id === args.device_id)
    if (device == null) throw new Error(`no device ${args.device_id}`)
    const is_time_bound = args.starts_at != null && args.ends_at != null
    return db.addAccessCode({
      type: is_time_bound ? 'time_bound' : 'ongoing',
      workspace_id: device.workspace_id,
      name: 'Added code',
      ...args,
    })
  },
  // properties are merged one level deep (nested objects are replaced whole).
  update_device: (db, args) => db.updateDevice(args),
}

const control = (db, line) => {
  let id = null
  try {
    const command = JSON.parse(line)
    id = command.id ?? null
    const op = CONTROL_OPS[command.op]
    if (op == null) throw new Error(`unknown op ${command.op}`)
    return { reply: id, ok: true, result: op(db, command.args ?? {}) ?? null }
  } catch (err) {
    return { reply: id, ok: false, error: String(err?.message ?? err) }
  }
}

const main = async () => {
  const opts = parseArgs(process.argv.slice(2))
  const { createFake } = await import('@seamapi/fake-seam-connect')

  const fake = await createFake()
  const seed = await fake.seed()
  const db = fake.database
  const specs = [...(opts.standardDevices ? STANDARD_DEVICES : []), ...opts.devices]
  const added = addDevices(db, specs)

  let server = null
  for (let attempt = 1; server == null; attempt++) {
    const port = opts.port ?? (await freePort())
    try {
      server = await withLoopbackListen(() =>
        fake.startServer({ port, baseUrl: `http://127.0.0.1:${port}`, signals: [] }),
      )
    } catch (err) {
      // Someone took the port between freePort() and listen(): try another.
      if (err?.code !== 'EADDRINUSE' || opts.port != null || attempt >= 5) throw err
    }
  }
  const port = server.server.address().port

  let stopping = false
  const stop = (why) => {
    if (stopping) return
    stopping = true
    console.error(`seam-fake: stopping (${why})`)
    server.server.closeAllConnections?.()
    server.server.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop(signal))
  if (opts.watchStdin) {
    const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
    lines.on('line', (line) => {
      if (line.trim() !== '') writeStdout(JSON.stringify(control(db, line)) + '\n')
    })
    lines.on('close', () => stop('stdin closed'))
    process.stdin.on('error', () => stop('stdin error'))
  }

  const devices = {}
  for (const d of db.devices.filter((d) => d.workspace_id === SEED_WORKSPACE_ID)) {
    devices[d.device_id] = {
      device_type: d.device_type,
      name: d.properties?.name ?? null,
      manufacturer: d.properties?.manufacturer ?? null,
      extra: added.includes(d.device_id),
    }
  }
  const ready = {
    ready: true,
    url: `http://127.0.0.1:${port}`,
    port,
    api_key: SEED_API_KEY,
    workspace_id: SEED_WORKSPACE_ID,
    other_workspace: { workspace_id: seed.seed_workspace_2, api_key: seed.seam_apikey2_token },
    devices,
    pid: process.pid,
    startup_ms: Math.round(performance.now() - startedAt),
  }
  writeStdout(JSON.stringify(ready) + '\n')
}

process.on('unhandledRejection', (err) => fail(err?.stack ?? String(err)))
main().catch((err) => fail(err?.stack ?? String(err)))
