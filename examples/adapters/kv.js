#!/usr/bin/env node
/*
 * A cutover adapter for the `kv` domain over an in-memory Map (Node 20, standard library only).
 *
 * Copy it as a template: `KvRepository` stands for your team's repository class (its methods
 * are async, as a real one's would be), and the rest is the adapter that speaks cutover's
 * target protocol, version 1 (docs/src/protocol.md): JSON Lines on stdin/stdout. It declares
 * `"concurrency": 16`: messages are handled as they arrive and each answer is written when
 * its promise settles, so answers may come back in any order. It exits when stdin closes.
 *
 * How cutover runs it:
 *
 *   cutover replay fixtures/kv-demo.jsonl --out /tmp/kv --legacy recorded \
 *     --candidate 'exec:node examples/adapters/kv.js'
 *   cutover check-target 'exec:node examples/adapters/kv.js'
 *
 * stdout carries only answers; stderr is the log.
 *
 * Key order: the reference `memory` target orders keys bytewise in UTF-8 (Rust String order).
 * JS compares strings by UTF-16 code units, which differs for keys beyond U+FFFF, so scan
 * and `keys` (which declares `"key_order": "bytes"`) sort with Buffer.compare on the UTF-8
 * bytes. `dump` with `keys` reads several keys in one message.
 *
 * JSON numbers: where JS has JSON.rawJSON (JSON.parse source text access: Node 20 started as
 * `node --harmony-json-parse-with-source kv.js`, or a Node whose V8 ships it), every number
 * is kept as its own text and round-trips unchanged. Without it, numbers are JS doubles:
 * integers beyond 2^53 lose their low digits, numbers with more than about 17 significant
 * digits are rounded, and 1e400 becomes Infinity (written back as null); a scan limit of 5.0
 * is taken for 5 (the reference answers `invalid`), and 2^64 - 1 (the largest) for 2^64, which
 * is refused. The kv fixture has none of these; `cutover check-target` stores a number beyond
 * 2^53 and reports the loss.
 *
 * Planted defects, for cutover's own tests (KV_DEFECT=NAME; unset means correct):
 *
 *   scan-order       scan answers the selected items (the first `limit`, in key order) reversed;
 *   not-found-null   get of an absent key answers {"ok": null} instead of a not_found error;
 *   drop-tags        put and insert store an object value without its top-level "tags" member;
 *   die-after=N      the process kills itself (SIGKILL) on receiving the (N+1)-th execute;
 *   garbage-after=N  the (N+1)-th execute answer is replaced by the line `this is not json`;
 *   hang-after=N     after N execute answers it answers nothing more (it keeps reading stdin
 *                    and exits when stdin closes);
 *   events-forget    delete publishes no `value_deleted`;
 *   events-swap      a put of a new key (or an insert) publishes `value_put` before `key_created`;
 *   events-rename    `value_put`'s payload names the value `new_value` instead of `value`.
 *
 * Events: it declares `"events": true` and every `execute` answer carries the events the
 * request published, in order (`[]`: none), as the reference `memory` target publishes them:
 * a successful write publishes `key_created {"key"}` when it made the key (a put of a new key,
 * an insert), then `value_put {"key", "value"}` (put, insert), `value_deleted {"key"}` (delete)
 * or `value_stamped {"key", "value"}` (stamp). Reads and refused writes publish none.
 */
'use strict';

const crypto = require('node:crypto');
const readline = require('node:readline');

const NAME = 'kv-node';
const DOMAIN = 'kv';
const PROTOCOL = 1;
const CONCURRENCY = 16;
const KEYED_OPS = new Set(['get', 'put', 'insert', 'delete', 'stamp']);
const DEFECTS = new Set([
  'scan-order', 'not-found-null', 'drop-tags', 'die-after', 'garbage-after', 'hang-after',
  'events-forget', 'events-swap', 'events-rename',
]);

function log(text) {
  process.stderr.write(`${NAME}: ${text}\n`);
}

// --- JSON numbers, exact where JS allows (see the top of this file) -----------------------

const EXACT_NUMBERS = typeof JSON.rawJSON === 'function';

/** Parses JSON text; with EXACT_NUMBERS each number is kept as its own text (a raw JSON). */
function parseJson(text) {
  if (!EXACT_NUMBERS) return JSON.parse(text);
  return JSON.parse(text, (key, value, context) =>
    typeof value === 'number' ? JSON.rawJSON(context.source) : value,
  );
}

/**
 * JSON text of a parsed value, numbers kept as raw JSON written with their own text. Not
 * JSON.stringify: Node 20's, with --harmony-json-parse-with-source, garbles a raw JSON that
 * follows a string with characters beyond Latin-1 in the same text (`[{"k":"😀"},{"n":10}]`).
 */
function toJson(value) {
  if (EXACT_NUMBERS && JSON.isRawJSON(value)) return value.rawJSON;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The text of a JSON number (a double or a raw JSON); null for any other value. */
function numberText(value) {
  if (typeof value === 'number') return String(value);
  if (EXACT_NUMBERS && JSON.isRawJSON(value)) return value.rawJSON;
  return null;
}

/** An object, but not an array, null or a number kept as raw JSON. */
function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && numberText(value) === null;
}

// --- The repository (stands for the team's class) -----------------------------------------

/** What the repository refuses: answered as an `error` outcome, never as a failure. */
class KvError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Bytewise UTF-8 order of two keys (not JS's default UTF-16 order). */
function byteOrder(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Now, in RFC 3339 with microseconds, as the reference writes it. */
function nowMicros() {
  const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const iso = new Date(Math.floor(micros / 1000)).toISOString(); // ...T00:00:00.123Z
  return iso.slice(0, -1) + String(micros % 1000).padStart(3, '0') + 'Z';
}

class KvRepository {
  constructor() {
    this.data = new Map();
  }

  async get(key) {
    if (!this.data.has(key)) throw new KvError('not_found', `no value at ${key}`);
    return this.data.get(key);
  }

  /** The stored value, or null when nothing is stored (the `dump` answer). */
  async load(key) {
    return this.data.has(key) ? this.data.get(key) : null;
  }

  /** Stores value under key; true when the key was new. */
  async put(key, value) {
    const created = !this.data.has(key);
    this.data.set(key, value);
    return created;
  }

  async insert(key, value) {
    if (this.data.has(key)) throw new KvError('conflict', `${key} exists`);
    this.data.set(key, value);
  }

  async delete(key) {
    if (!this.data.delete(key)) throw new KvError('not_found', `no value at ${key}`);
  }

  /** [{key, value}] of the keys starting with prefix, in key order, at most limit of them. */
  async scan(prefix = '', limit = Infinity) {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort(byteOrder);
    return keys.slice(0, limit).map((key) => ({ key, value: this.data.get(key) }));
  }

  /** Up to limit keys after `after` (null: from the first), in bytewise UTF-8 order. */
  async keys(after, limit) {
    const keys = [...this.data.keys()].sort(byteOrder);
    const from = after === null ? 0 : keys.findIndex((k) => byteOrder(k, after) > 0);
    return from < 0 ? [] : keys.slice(from, from + limit);
  }

  /** Stores and returns {id: generated, at: now, value}. */
  async stamp(key, value) {
    const stamped = { id: crypto.randomBytes(8).toString('hex'), at: nowMicros(), value };
    await this.put(key, stamped);
    return stamped;
  }

  async clear() {
    this.data.clear();
  }
}

// --- Planted defects ----------------------------------------------------------------------

/** The defect KV_DEFECT plants (see the top of this file); a blank one plants nothing. */
class Defect {
  constructor(spec = '') {
    const [name, count = ''] = spec.split('=', 2);
    if (name && !DEFECTS.has(name)) {
      throw new Error(`unknown KV_DEFECT \`${spec}\`; known: ${[...DEFECTS].join(', ')}`);
    }
    if (name.endsWith('-after') && !/^\d+$/.test(count)) {
      throw new Error(`KV_DEFECT \`${spec}\` needs a count: ${name}=N`);
    }
    this.name = name;
    this.count = Number(count || 0);
    this.received = 0; // execute messages received
    this.answered = 0; // execute answers written (or replaced)
    this.hanging = false;
  }

  /** Called as an execute message arrives: die-after kills the process. */
  onExecute() {
    this.received += 1;
    if (this.name === 'die-after' && this.received > this.count) {
      log(`KV_DEFECT die-after=${this.count}: killing myself`);
      process.kill(process.pid, 'SIGKILL');
    }
  }

  /** The line to write for an answer: its own, garbage, or null to answer nothing. */
  answerText(text, isExecute) {
    if (this.hanging) return null;
    if (!isExecute) return text;
    if (this.name === 'hang-after' && this.answered >= this.count) {
      this.hanging = true;
      return null;
    }
    this.answered += 1;
    if (this.name === 'garbage-after' && this.answered === this.count + 1) return 'this is not json';
    return text;
  }
}

function withoutTags(value) {
  if (!isObject(value)) return value;
  const { tags, ...rest } = value; // eslint-disable-line no-unused-vars
  return rest;
}

// --- Events: what a request published (supports.events) ---------------------------------

function event(name, payload) {
  return { name, payload };
}

/** The events of a request answered `answer` (its `ok` value), in order. */
function published(request, answer) {
  const { op, key } = request;
  const args = isObject(request.args) ? request.args : {};
  const value = args.value ?? null;
  const created = op === 'insert' || (op === 'put' && answer.created === true);
  const events = created ? [event('key_created', { key })] : [];
  if (op === 'put' || op === 'insert') events.push(event('value_put', { key, value }));
  else if (op === 'delete') events.push(event('value_deleted', { key }));
  else if (op === 'stamp') events.push(event('value_stamped', { key, value }));
  return events;
}

/** The events as an `events-*` defect changes them. */
function plantedEvents(defect, events) {
  if (defect === 'events-forget') return events.filter((e) => e.name !== 'value_deleted');
  if (defect === 'events-swap') return [...events].reverse();
  if (defect === 'events-rename') {
    return events.map((e) => {
      if (e.name !== 'value_put') return e;
      const { value, ...rest } = e.payload;
      return event(e.name, { ...rest, new_value: value });
    });
  }
  return events;
}

/** An execute answer with its `events`: none unless a write succeeded. */
function withEvents(answer, request, defect) {
  if (answer.failure !== undefined) return answer;
  const ok = request.kind === 'write' && Object.hasOwn(answer.outcome, 'ok');
  const events = ok ? published(request, answer.outcome.ok) : [];
  return { ...answer, events: plantedEvents(defect, events) };
}

// --- The adapter: protocol messages onto the repository -----------------------------------

function invalid(message) {
  return new KvError('invalid', message);
}

/** [prefix, limit] from scan's args, as the reference checks them (limit: an unsigned 64-bit count). */
function scanArgs(args) {
  let { prefix, limit } = args;
  if (prefix === undefined || prefix === null) prefix = '';
  else if (typeof prefix !== 'string') throw invalid('scan args.prefix must be a string');
  if (limit === undefined || limit === null) return [prefix, Infinity];
  const digits = numberText(limit);
  if (!/^\d+$/.test(digits) || BigInt(digits) > 2n ** 64n - 1n) {
    throw invalid('scan args.limit must be a count');
  }
  return [prefix, Number(digits)];
}

class Adapter {
  constructor(repo, defect) {
    this.repo = repo;
    this.defect = defect;
  }

  /** The answer to one message, without its id. */
  async handle(message) {
    const type = message.type;
    try {
      switch (type) {
        case 'hello':
          return {
            protocol: PROTOCOL,
            name: NAME,
            domain: DOMAIN,
            supports: { reset: true, dump: true, concurrency: CONCURRENCY, keys: true, dump_batch: true, events: true },
            key_order: 'bytes',
          };
        case 'reset':
          await this.repo.clear();
          return { ok: true };
        case 'execute':
          this.defect.onExecute();
          return withEvents(await this.execute(message.request), message.request, this.defect.name);
        case 'dump':
          if (message.keys !== undefined) return await this.dumpBatch(message.keys);
          if (typeof message.key !== 'string') return { failure: 'dump needs a key' };
          return { state: await this.repo.load(message.key) };
        case 'keys':
          return await this.keys(message.after, message.limit);
        default:
          return { failure: `unknown message type ${type}` };
      }
    } catch (e) {
      // The store failed (or a bug): not the repository's answer.
      log(`${type} failed: ${e.stack}`);
      return { failure: String(e) };
    }
  }

  async dumpBatch(keys) {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      return { failure: 'dump needs `keys`: an array of strings' };
    }
    return { states: await Promise.all(keys.map(async (key) => ({ state: await this.repo.load(key) }))) };
  }

  async keys(after = null, limit) {
    if (after !== null && typeof after !== 'string') return { failure: 'keys needs `after`: a key or null' };
    const digits = numberText(limit);
    if (!/^\d+$/.test(digits ?? '')) return { failure: 'keys needs `limit`: a count' };
    return { keys: await this.repo.keys(after, Number(digits)) };
  }

  async execute(request) {
    if (!isObject(request)) return { failure: 'execute needs a request' };
    try {
      return { outcome: { ok: await this.apply(request) } };
    } catch (e) {
      if (!(e instanceof KvError)) throw e;
      return { outcome: { error: { kind: e.kind, message: e.message } } };
    }
  }

  /** The repository's answer to one request, in the reference's order of checks. */
  async apply(request) {
    const { op, key } = request;
    const args = isObject(request.args) ? request.args : {};
    const keyless = key === undefined || key === null;
    if (op === 'scan') {
      if (!keyless) throw invalid('scan takes no key');
      return this.scan(args);
    }
    if (!KEYED_OPS.has(op)) throw new KvError('unsupported', `unknown operation \`${op}\``);
    if (keyless) throw invalid(`${op} needs a key`);
    if (typeof key !== 'string') throw invalid(`${op} needs a string key`);
    switch (op) {
      case 'get':
        return this.get(key);
      case 'put':
        return { created: await this.repo.put(key, this.stored(op, args)) };
      case 'insert':
        await this.repo.insert(key, this.stored(op, args));
        return null;
      case 'delete':
        await this.repo.delete(key);
        return null;
      case 'stamp':
        return this.repo.stamp(key, args.value ?? null);
    }
  }

  async get(key) {
    try {
      return await this.repo.get(key);
    } catch (e) {
      if (e.kind === 'not_found' && this.defect.name === 'not-found-null') return null;
      throw e;
    }
  }

  async scan(args) {
    const items = await this.repo.scan(...scanArgs(args));
    if (this.defect.name === 'scan-order') items.reverse();
    return items;
  }

  /** args.value as put and insert store it. */
  stored(op, args) {
    if (!Object.hasOwn(args, 'value')) throw invalid(`${op} needs args.value`);
    return this.defect.name === 'drop-tags' ? withoutTags(args.value) : args.value;
  }
}

// --- Transport: JSON Lines on stdin/stdout ------------------------------------------------

async function onLine(adapter, line) {
  if (!line.trim()) return;
  let message;
  try {
    message = parseJson(line);
  } catch {
    message = null;
  }
  if (!isObject(message) || message.id === undefined) {
    log(`ignoring a line that is not a message: ${line.slice(0, 200)}`);
    return;
  }
  const answer = { id: message.id, ...(await adapter.handle(message)) };
  const text = adapter.defect.answerText(toJson(answer), message.type === 'execute');
  if (text !== null) process.stdout.write(text + '\n');
}

function main() {
  let defect;
  try {
    defect = new Defect(process.env.KV_DEFECT);
  } catch (e) {
    log(e.message);
    process.exitCode = 2;
    return;
  }
  if (defect.name) log(`planted defect: ${process.env.KV_DEFECT}`);
  if (!EXACT_NUMBERS) log('JSON.rawJSON is missing: numbers are JS doubles (see the top of kv.js)');
  const adapter = new Adapter(new KvRepository(), defect);
  process.stdout.on('error', (e) => {
    log(`stdout failed (${e.code}), exiting`);
    process.exit(0);
  });
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => onLine(adapter, line));
  input.on('close', () => log('stdin closed, exiting')); // nothing left to wait for: Node exits
  log('serving protocol 1 on stdin/stdout');
}

main();
