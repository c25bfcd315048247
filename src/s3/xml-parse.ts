// A small strict XML parser for S3 request bodies (CreateBucketConfiguration, Delete,
// CompleteMultipartUpload, and later lifecycle/tagging) into a plain element tree.
// Contracts:
// - Accepts: optional BOM and `<?xml …?>` declaration (UTF-8 only), one root element, attributes,
//   character data, CDATA, comments, the five predefined entities and numeric character references.
// - Refuses (S3Error MalformedXML, detail in `cause`): DOCTYPE and any other `<!…>` declaration, processing
//   instructions, undefined entities, invalid UTF-8, raw control characters, mismatched or unclosed tags,
//   duplicate attributes, text outside the root, more than `maxBytes` bytes, nesting deeper than
//   `maxDepth`, more than `maxNodes` elements. There is no entity expansion, so no "billion laughs".
// - `text` is the element's own character data, concatenated, never trimmed (S3 keys may start or end
//   with spaces); CRLF and lone CR are normalized to LF as XML requires, `&#13;` survives as CR.
// - Names are kept as written (`ns:Name`); the helpers match on the local name.

import { S3Error } from './s3-error.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export interface XmlParseOptions {
  /** Largest accepted document in bytes (UTF-8). Required: the caller knows what the operation allows. */
  maxBytes: number;
  /** Deepest accepted element nesting; the root is depth 1. */
  maxDepth?: number;
  /** Most elements accepted in one document. */
  maxNodes?: number;
}

const DEPTH_MAX_DEFAULT = 32;
const NODES_MAX_DEFAULT = 200_000;
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const NAME = /[A-Za-z_:\u00C0-\uFFFD][-A-Za-z0-9_.:\u00B7\u00C0-\uFFFD]*/y;
const WHITESPACE = /[ \t\n]*/y;

function malformed(detail: string): S3Error {
  return new S3Error('MalformedXML', undefined, { cause: new Error(detail) });
}

function decodeInput(input: Buffer | string, maxBytes: number): string {
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > maxBytes) throw malformed(`document larger than ${maxBytes} bytes`);
    return input;
  }
  if (input.length > maxBytes) throw malformed(`document larger than ${maxBytes} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch (err) {
    throw new S3Error('MalformedXML', undefined, { cause: err });
  }
}

function isXmlChar(cp: number): boolean {
  // Lenient on purpose (XML 1.1-style): references to C0 controls are allowed so keys that contain them
  // can be named in a Delete request; NUL, surrogates and non-characters are not.
  return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && cp !== 0xfffe && cp !== 0xffff;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Replaces entity and character references; refuses anything else after `&`. */
function decodeReferences(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  for (;;) {
    const amp = raw.indexOf('&', i);
    if (amp < 0) return out + raw.slice(i);
    out += raw.slice(i, amp);
    const semi = raw.indexOf(';', amp);
    if (semi < 0 || semi - amp > 12) throw malformed('unterminated reference');
    const ref = raw.slice(amp + 1, semi);
    if (ref.startsWith('#')) {
      const cp = /^#x[0-9A-Fa-f]{1,6}$/.test(ref)
        ? parseInt(ref.slice(2), 16)
        : /^#[0-9]{1,7}$/.test(ref)
          ? parseInt(ref.slice(1), 10)
          : NaN;
      if (!isXmlChar(cp)) throw malformed(`invalid character reference &${ref};`);
      out += String.fromCodePoint(cp);
    } else {
      const ch = PREDEFINED[ref];
      if (ch === undefined) throw malformed(`undefined entity &${ref};`);
      out += ch;
    }
    i = semi + 1;
  }
}

class Parser {
  private pos = 0;
  private nodes = 0;

  constructor(
    private readonly src: string,
    private readonly maxDepth: number,
    private readonly maxNodes: number,
  ) {}

  parseDocument(): XmlElement {
    if (this.src.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.parseDeclaration();
    this.skipMisc();
    if (!this.src.startsWith('<', this.pos) || this.pos >= this.src.length) throw malformed('no root element');
    const root = this.parseElementTree();
    this.skipMisc();
    if (this.pos !== this.src.length) throw malformed(`unexpected content after the root element at ${this.pos}`);
    return root;
  }

  private parseDeclaration(): void {
    if (!this.src.startsWith('<?xml', this.pos)) return;
    // Found by indexOf, not by a pattern: `<?xml` and spaces without a closing `?>` made a regular
    // expression backtrack quadratically (a 60 KB body held the event loop for seconds).
    const end = this.src.indexOf('?>', this.pos + 5);
    if (end < 0) throw malformed('bad XML declaration');
    const attrs = this.src.slice(this.pos + 5, end);
    if (attrs !== '' && !/^\s/.test(attrs)) throw malformed('bad XML declaration');
    const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(attrs);
    if (encoding && encoding[1]!.toLowerCase() !== 'utf-8') throw malformed(`unsupported encoding ${encoding[1]}`);
    this.pos = end + 2;
  }

  /** Whitespace and comments, the only things allowed around the root element. */
  private skipMisc(): void {
    for (;;) {
      this.skipWhitespace();
      if (this.src.startsWith('<!--', this.pos)) this.skipComment();
      else return;
    }
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.src);
    this.pos = WHITESPACE.lastIndex;
  }

  private skipComment(): void {
    const end = this.src.indexOf('-->', this.pos + 4);
    if (end < 0) throw malformed('unterminated comment');
    if (this.src.slice(this.pos + 4, end).includes('--')) throw malformed('"--" inside a comment');
    this.pos = end + 3;
  }

  private parseName(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (!m) throw malformed(`expected a name at ${this.pos}`);
    this.pos = NAME.lastIndex;
    return m[0];
  }

  /** Parses one element and everything inside it, iteratively (depth is bounded, not the JS stack). */
  private parseElementTree(): XmlElement {
    const stack: { el: XmlElement; text: string[] }[] = [];
    let root: XmlElement | undefined;
    while (root === undefined) {
      if (this.pos >= this.src.length) throw malformed(`unclosed element <${stack[stack.length - 1]?.el.name}>`);
      const top = stack[stack.length - 1];
      if (this.src.charCodeAt(this.pos) !== 0x3c /* < */) {
        const next = this.src.indexOf('<', this.pos);
        const end = next < 0 ? this.src.length : next;
        top!.text.push(decodeReferences(this.src.slice(this.pos, end)));
        this.pos = end;
      } else if (this.src.startsWith('</', this.pos)) {
        this.pos += 2;
        const name = this.parseName();
        this.skipWhitespace();
        this.expect('>');
        if (!top || top.el.name !== name) throw malformed(`mismatched end tag </${name}>`);
        stack.pop();
        top.el.text = top.text.join('');
        if (stack.length === 0) root = top.el;
      } else if (this.src.startsWith('<!--', this.pos)) {
        this.skipComment();
      } else if (this.src.startsWith('<![CDATA[', this.pos)) {
        const end = this.src.indexOf(']]>', this.pos + 9);
        if (end < 0) throw malformed('unterminated CDATA section');
        if (!top) throw malformed('CDATA outside the root element');
        top.text.push(this.src.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.src.startsWith('<!', this.pos)) {
        throw malformed('DOCTYPE and other declarations are not allowed');
      } else if (this.src.startsWith('<?', this.pos)) {
        throw malformed('processing instructions are not allowed');
      } else {
        if (stack.length >= this.maxDepth) throw malformed(`nesting deeper than ${this.maxDepth}`);
        if (++this.nodes > this.maxNodes) throw malformed(`more than ${this.maxNodes} elements`);
        const { el, selfClosing } = this.parseStartTag();
        top?.el.children.push(el);
        if (selfClosing) {
          if (!top) root = el;
        } else {
          stack.push({ el, text: [] });
        }
      }
    }
    return root;
  }

  private parseStartTag(): { el: XmlElement; selfClosing: boolean } {
    this.pos += 1;
    const name = this.parseName();
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
    for (;;) {
      const before = this.pos;
      this.skipWhitespace();
      if (this.src.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { el: { name, attrs, children: [], text: '' }, selfClosing: true };
      }
      if (this.src.startsWith('>', this.pos)) {
        this.pos += 1;
        return { el: { name, attrs, children: [], text: '' }, selfClosing: false };
      }
      if (this.pos === before) throw malformed(`expected whitespace, ">" or "/>" at ${this.pos}`);
      const attr = this.parseName();
      this.skipWhitespace();
      this.expect('=');
      this.skipWhitespace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") throw malformed(`unquoted attribute ${attr}`);
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end < 0) throw malformed(`unterminated attribute ${attr}`);
      const raw = this.src.slice(this.pos + 1, end);
      if (raw.includes('<')) throw malformed(`"<" in attribute ${attr}`);
      if (Object.prototype.hasOwnProperty.call(attrs, attr)) throw malformed(`duplicate attribute ${attr}`);
      attrs[attr] = decodeReferences(raw.replace(/[\t\n]/g, ' '));
      this.pos = end + 1;
    }
  }

  private expect(s: string): void {
    if (!this.src.startsWith(s, this.pos)) throw malformed(`expected "${s}" at ${this.pos}`);
    this.pos += s.length;
  }
}

/** Parses a request body. Throws S3Error('MalformedXML') for anything outside the accepted subset. */
export function parseXml(input: Buffer | string, options: XmlParseOptions): XmlElement {
  const text = decodeInput(input, options.maxBytes);
  if (FORBIDDEN_CHARS.test(text)) throw malformed('control character in document');
  const normalized = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  const parser = new Parser(normalized, options.maxDepth ?? DEPTH_MAX_DEFAULT, options.maxNodes ?? NODES_MAX_DEFAULT);
  return parser.parseDocument();
}

/** The part of a name after its namespace prefix. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

export function childElements(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => localName(c.name) === name);
}

export function firstChild(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => localName(c.name) === name);
}

/** Text of the first child with that local name, or undefined when there is no such child. */
export function childText(el: XmlElement, name: string): string | undefined {
  return firstChild(el, name)?.text;
}
