#!/usr/bin/env node
// Request-body JSON Schemas for the Seam routes accesscodes uses, taken from
// Seam's OpenAPI spec (`openapi` export of @seamapi/types/connect).
//
// Usage:
//   node tools/seam-fake/openapi.mjs [--out PATH] [--all-methods] [ROUTE ...]
//
// Prints (or writes to PATH) one JSON object: {"/route": schema, ...}. Each schema
// is the POST request body schema, with every $ref resolved, OpenAPI 3.0's
// `nullable: true` turned into a JSON Schema "null" type, and a "$schema" of
// draft 2020-12, so Python's `jsonschema` can validate request bodies with it.
// Annotations for people (ignored by validators) ride along in each schema:
//   "x-seam-methods":  HTTP methods the spec documents for the route
//   "x-seam-source":   package and version the schema came from
// With --all-methods, schemas of the other methods that have a JSON body are
// added under "x-seam-other-methods" (for /access_codes/update they are identical).

import fs from 'node:fs'
import process from 'node:process'

import { openapi } from '@seamapi/types/connect'

const DEFAULT_ROUTES = [
  '/devices/list',
  '/devices/get',
  '/access_codes/list',
  '/access_codes/unmanaged/list',
  '/access_codes/create',
  '/access_codes/update',
  '/access_codes/delete',
  '/action_attempts/get',
]

const fail = (message) => {
  console.error(`openapi.mjs: ${message}`)
  process.exit(1)
}

const args = process.argv.slice(2)
let out = null
let allMethods = false
const routes = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i] ?? fail('--out needs a path')
  else if (args[i] === '--all-methods') allMethods = true
  else if (args[i].startsWith('-')) fail(`unknown argument ${args[i]}`)
  else routes.push(args[i].startsWith('/') ? args[i] : `/${args[i]}`)
}

const typesVersion = JSON.parse(
  // package.json is not in the package's "exports": read it from node_modules.
  fs.readFileSync(new URL('./node_modules/@seamapi/types/package.json', import.meta.url), 'utf8'),
).version

const resolvePointer = (ref) => {
  if (!ref.startsWith('#/')) fail(`external $ref not supported: ${ref}`)
  let node = openapi
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (node == null || !(key in node)) fail(`unresolvable $ref ${ref}`)
    node = node[key]
  }
  return node
}

// Resolve $refs (inlining; a recursive reference is an error, none exist in the
// request bodies we use) and convert OpenAPI 3.0 dialect to JSON Schema.
const toJsonSchema = (node, stack = []) => {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, stack))
  if (node == null || typeof node !== 'object') return node
  if (typeof node.$ref === 'string') {
    if (stack.includes(node.$ref)) fail(`recursive $ref ${node.$ref}`)
    const { $ref, ...siblings } = node
    return toJsonSchema({ ...resolvePointer($ref), ...siblings }, [...stack, $ref])
  }
  const result = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'discriminator' || key === 'example') continue
    // `properties`/`patternProperties` map names to schemas: keep the names as-is.
    if ((key === 'properties' || key === 'patternProperties') && value && typeof value === 'object') {
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, schema]) => [name, toJsonSchema(schema, stack)]),
      )
    } else {
      result[key] = toJsonSchema(value, stack)
    }
  }
  // OpenAPI 3.0 boolean exclusiveMinimum/Maximum -> JSON Schema numbers.
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ]) {
    if (typeof result[flag] === 'boolean') {
      if (result[flag] && bound in result) {
        result[flag] = result[bound]
        delete result[bound]
      } else delete result[flag]
    }
  }
  if (node.nullable === true) {
    if (typeof result.type === 'string') result.type = [result.type, 'null']
    else if (Array.isArray(result.type)) result.type = [...new Set([...result.type, 'null'])]
    else return { anyOf: [result, { type: 'null' }] }
    if (Array.isArray(result.enum) && !result.enum.includes(null)) result.enum = [...result.enum, null]
  }
  return result
}

const bodySchema = (operation) => {
  const schema = operation?.requestBody?.content?.['application/json']?.schema
  return schema == null ? null : toJsonSchema(schema)
}

const result = {}
for (const route of routes.length > 0 ? routes : DEFAULT_ROUTES) {
  const path = openapi.paths[route]
  if (path == null) fail(`route ${route} is not in the spec`)
  const methods = Object.keys(path).filter((m) =>
    ['get', 'put', 'post', 'delete', 'patch'].includes(m),
  )
  if (path.post == null) fail(`route ${route} has no POST operation (methods: ${methods})`)
  const schema = bodySchema(path.post)
  if (schema == null) fail(`route ${route} has no JSON request body`)
  const entry = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...schema,
    'x-seam-methods': methods.map((m) => m.toUpperCase()),
    'x-seam-source': `@seamapi/types@${typesVersion} (openapi ${openapi.openapi}) POST ${route}`,
  }
  if (allMethods) {
    const others = {}
    for (const m of methods.filter((m) => m !== 'post')) {
      const other = bodySchema(path[m])
      if (other != null) others[m.toUpperCase()] = other
      else others[m.toUpperCase()] = { 'x-seam-parameters-in': [...new Set((path[m].parameters ?? []).map((p) => p.in))] }
    }
    entry['x-seam-other-methods'] = others
  }
  result[route] = entry
}

const text = JSON.stringify(result, null, 2) + '\n'
if (out == null) process.stdout.write(text)
else fs.writeFileSync(out, text)
