/**
 * docs/asyncapi.yaml for tests: its message payload schemas compiled once with Ajv (the
 * validator @asyncapi/parser itself uses), looked up by a client frame's `action` or a server
 * event's `type`. Reads the YAML directly (the full parser takes seconds; the unit test runs
 * it), so checking every frame an end-to-end test receives costs microseconds.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../local/repo-root';

export const ASYNCAPI_FILE = path.join(REPO_ROOT, 'docs', 'asyncapi.yaml');

type Json = Record<string, unknown>;

export interface AsyncApiMessage {
  name: string;
  payload: Json;
  examples?: { name?: string; payload: unknown }[];
}

export interface AsyncApiDocument {
  asyncapi: string;
  channels: Record<string, { messages: Record<string, { $ref: string }> } & Json>;
  operations: Record<
    string,
    {
      action: 'send' | 'receive';
      channel: { $ref: string };
      messages: { $ref: string }[];
      reply?: { messages: { $ref: string }[] };
    }
  >;
  components: { messages: Record<string, AsyncApiMessage>; schemas: Record<string, Json> };
  [extension: `x-${string}`]: unknown;
}

/** The document's id inside Ajv: `$ref`s like `#/components/schemas/Seq` resolve against it. */
const DOCUMENT_ID = 'asyncapi.yaml';

export interface Verdict {
  ok: boolean;
  /** Ajv's errors, one line each (empty when ok). */
  problems: string[];
}

export class ProtocolSchemas {
  readonly document: AsyncApiDocument;
  private readonly ajv: Ajv;
  private readonly byAction = new Map<string, ValidateFunction>();
  private readonly byType = new Map<string, ValidateFunction>();
  private readonly byName = new Map<string, ValidateFunction>();

  constructor(document: AsyncApiDocument) {
    this.document = document;
    // strict: an unknown keyword or format in the document fails here, not silently.
    this.ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(this.ajv, ['date-time']);
    // The schemas live under components.schemas, where the document's `$ref`s point.
    this.ajv.addKeyword('components');
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: document.components.schemas } });
    for (const [key, message] of Object.entries(document.components.messages)) {
      const validate = this.compile(message.payload);
      this.byName.set(key, validate);
      const properties = this.resolve(message.payload).properties as Json | undefined;
      const action = (properties?.action as Json | undefined)?.const;
      const type = (properties?.type as Json | undefined)?.const;
      if (typeof action === 'string') this.byAction.set(action, validate);
      if (typeof type === 'string') this.byType.set(type, validate);
    }
  }

  /** A payload schema with its top-level `$ref` followed (within the document). */
  resolve(schema: Json): Json {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], this.document);
    if (!target) throw new Error(`${ASYNCAPI_FILE}: ${ref} points nowhere`);
    return this.resolve(target as Json);
  }

  /** The client actions the document describes. */
  get actions(): string[] {
    return [...this.byAction.keys()];
  }

  /** The server event types the document describes. */
  get eventTypes(): string[] {
    return [...this.byType.keys()];
  }

  /** Checks a client frame (a parsed JSON value) against the message for its `action`. */
  checkClientFrame(frame: unknown): Verdict {
    const action = (frame as Json | null)?.action;
    const validate = typeof action === 'string' ? this.byAction.get(action) : undefined;
    if (!validate) return { ok: false, problems: [`no message for action ${JSON.stringify(action)}`] };
    return verdict(validate, frame);
  }

  /** Checks a server event against the message for its `type`. */
  checkServerEvent(event: unknown): Verdict {
    const type = (event as Json | null)?.type;
    const validate = typeof type === 'string' ? this.byType.get(type) : undefined;
    if (!validate) return { ok: false, problems: [`no message for type ${JSON.stringify(type)}`] };
    return verdict(validate, event);
  }

  /** Checks a payload against the message of that key in `components.messages`. */
  checkMessage(key: string, payload: unknown): Verdict {
    const validate = this.byName.get(key);
    if (!validate) return { ok: false, problems: [`no message ${key}`] };
    return verdict(validate, payload);
  }

  private compile(payload: Json): ValidateFunction {
    const ref = payload.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/'))
      return this.ajv.compile({ $ref: `${DOCUMENT_ID}${ref}` });
    return this.ajv.compile(payload);
  }
}

function verdict(validate: ValidateFunction, value: unknown): Verdict {
  if (validate(value)) return { ok: true, problems: [] };
  return { ok: false, problems: (validate.errors ?? []).map(describe) };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '(the frame)';
  const detail =
    error.params && Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return `${where} ${error.message ?? error.keyword}${detail}`;
}

export function readAsyncApi(file = ASYNCAPI_FILE): AsyncApiDocument {
  return parse(readFileSync(file, 'utf8')) as AsyncApiDocument;
}

let shared: ProtocolSchemas | undefined;

/** The compiled schemas of docs/asyncapi.yaml, built on first use (once per test file). */
export function protocolSchemas(): ProtocolSchemas {
  shared ??= new ProtocolSchemas(readAsyncApi());
  return shared;
}

/**
 * Whether a received frame is a protocol event: a JSON object with a `type`. API Gateway's own
 * frames (`{"message":"Internal server error","connectionId":…,"requestId":…}`, the document's
 * `gatewayFrame`) never have one, and neither do frames a test posts itself through
 * `@connections`; those are not checked.
 */
export function isProtocolEvent(frame: unknown): frame is Json {
  return typeof frame === 'object' && frame !== null && !Array.isArray(frame) && 'type' in frame;
}
