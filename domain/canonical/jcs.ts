import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) for integer-only JSON, what state, ledger records and payloads hold: strings,
 * safe integers, booleans, null, arrays and plain objects. Anything else (a float, undefined)
 * throws. Equals `canonicalize` on that domain (the specs check it) and is several times faster.
 */
export function jcs(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`not integer-only JSON: the number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + jcs(value[i]);
        return out + ']';
      }
      const shape = shapeOf(value);
      let out = '{';
      for (let i = 0; i < shape.keys.length; i++)
        out += shape.prefixes[i]! + jcs((value as Record<string, unknown>)[shape.keys[i]!]);
      return out + '}';
    }
    default:
      throw new TypeError(`not integer-only JSON: a ${typeof value}`);
  }
}

interface Shape {
  /** The object's own keys in the order Object.keys gives them. */
  readonly own: readonly string[];
  readonly keys: readonly string[];
  /** `"key":`, with a leading comma after the first. */
  readonly prefixes: readonly string[];
}

/**
 * Rows of one kind share their keys, so their sorted order is computed once per key list. Shapes
 * are found by their first key, then compared key by key (property names are interned strings).
 */
const shapes = new Map<string, Shape[]>();
let shapeCount = 0;
/** Kinds remembered per first key: bounds the scan whatever key lists the input brings. */
const SHAPES_PER_FIRST_KEY = 8;

function shapeOf(value: object): Shape {
  const own = Object.keys(value);
  const first = own.length === 0 ? '' : own[0]!;
  const known = shapes.get(first);
  if (known) for (const shape of known) if (sameKeys(shape.own, own)) return shape;
  const keys = [...own].sort();
  const shape = { own, keys, prefixes: keys.map((k, i) => (i === 0 ? '' : ',') + JSON.stringify(k) + ':') };
  if (shapeCount < 1024 && (known?.length ?? 0) < SHAPES_PER_FIRST_KEY) {
    shapeCount++;
    if (known) known.push(shape);
    else shapes.set(first, [shape]);
  }
  return shape;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The RFC 8785 text of any JSON value: `jcs` where it answers, else the reference `canonicalize`,
 * which throws on what has no canonical form (a lone surrogate, which JSON.stringify escapes).
 * Undefined exactly where canonicalize gives undefined.
 */
export function canonicalText(value: unknown): string | undefined {
  try {
    const text = jcs(value);
    if (!text.includes('\\ud')) return text;
  } catch {
    // the reference decides
  }
  return canonicalize(value);
}
