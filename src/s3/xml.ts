// Minimal safe XML for the S3 API: escaping and a tiny element builder for response bodies, and (re-
// exported from xml-parse.ts) a strict parser for request bodies.
// Contracts: every string that reaches the output goes through escapeXmlText / escapeXmlAttr, so a key
// or message can never inject markup; characters XML 1.0 cannot carry raw (C0 controls, CR) are written
// as numeric character references so they survive a round trip (S3 does the same for such keys).
// Element names are programmer input and are asserted, not escaped.

import { assert } from '../util/errors.js';

export { parseXml, childElements, firstChild, childText, localName } from './xml-parse.js';
export type { XmlElement, XmlParseOptions } from './xml-parse.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const TEXT_SPECIAL = /[&<>\u0000-\u0008\u000B\u000C\u000D\u000E-\u001F]/;
const ATTR_SPECIAL = /[&<>"'\u0000-\u001F]/;
const NAME = /^[A-Za-z_][-A-Za-z0-9_.:]*$/;

function charRef(ch: string): string {
  return `&#x${ch.charCodeAt(0).toString(16).toUpperCase()};`;
}

function escapeChar(ch: string): string {
  switch (ch) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case "'":
      return '&apos;';
    default:
      return charRef(ch);
  }
}

/** Escapes character data. Tab and LF stay raw (XML keeps them in text); CR and other controls become refs. */
export function escapeXmlText(value: string): string {
  if (!TEXT_SPECIAL.test(value)) return value;
  return value.replace(/[&<>\u0000-\u0008\u000B-\u001F]/g, escapeChar);
}

/** Escapes an attribute value for a double-quoted attribute; all whitespace controls become refs. */
export function escapeXmlAttr(value: string): string {
  if (!ATTR_SPECIAL.test(value)) return value;
  return value.replace(/[&<>"'\u0000-\u001F]/g, escapeChar);
}

export interface XmlNode {
  readonly kind: 'element';
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlChild[];
}

/** null/undefined/false-free children: `null` and `undefined` are skipped, arrays are flattened. */
export type XmlChild = XmlNode | string | number | bigint | boolean | Date | null | undefined | readonly XmlChild[];

/** `<name>children…</name>`. Text children are escaped when rendered; a Date renders as ISO 8601 with ms. */
export function element(name: string, ...children: XmlChild[]): XmlNode {
  return elementWithAttrs(name, {}, ...children);
}

export function elementWithAttrs(name: string, attrs: Record<string, string>, ...children: XmlChild[]): XmlNode {
  assert(NAME.test(name), `invalid XML element name ${JSON.stringify(name)}`);
  for (const attr of Object.keys(attrs)) assert(NAME.test(attr), `invalid XML attribute name ${JSON.stringify(attr)}`);
  return { kind: 'element', name, attrs, children };
}

function isNode(child: XmlChild): child is XmlNode {
  return typeof child === 'object' && child !== null && !Array.isArray(child) && (child as XmlNode).kind === 'element';
}

function renderChild(child: XmlChild, out: string[]): void {
  if (child === null || child === undefined) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly XmlChild[]) renderChild(c, out);
  } else if (isNode(child)) {
    renderNode(child, out);
  } else if (child instanceof Date) {
    out.push(child.toISOString());
  } else {
    out.push(escapeXmlText(String(child)));
  }
}

function renderNode(node: XmlNode, out: string[]): void {
  out.push('<', node.name);
  for (const [k, v] of Object.entries(node.attrs)) out.push(' ', k, '="', escapeXmlAttr(v), '"');
  if (node.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  for (const child of node.children) renderChild(child, out);
  out.push('</', node.name, '>');
}

/** Renders one element (no declaration). */
export function renderXml(node: XmlNode): string {
  const out: string[] = [];
  renderNode(node, out);
  return out.join('');
}

/** Renders a full response body: the XML declaration followed by the root element. */
export function renderXmlDocument(root: XmlNode): string {
  return XML_DECLARATION + '\n' + renderXml(root);
}
