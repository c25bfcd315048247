// XML: escaping and building of responses; strict parsing of request bodies, including hostile inputs.

import { describe, expect, it } from 'vitest';
import { S3Error } from '../src/s3/s3-error.js';
import {
  S3_XMLNS,
  XML_DECLARATION,
  childElements,
  childText,
  element,
  elementWithAttrs,
  escapeXmlAttr,
  escapeXmlText,
  firstChild,
  parseXml,
  renderXml,
  renderXmlDocument,
  type XmlParseOptions,
} from '../src/s3/xml.js';

const LIMITS: XmlParseOptions = { maxBytes: 1024 * 1024 };

function malformed(input: string | Buffer, options: XmlParseOptions = LIMITS): string {
  try {
    parseXml(input, options);
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).code).toBe('MalformedXML');
    expect((err as S3Error).httpStatus).toBe(400);
    return String(((err as S3Error).cause as Error | undefined)?.message ?? '');
  }
  throw new Error('parsed, MalformedXML was expected');
}

describe('escaping', () => {
  it('escapes markup characters in text and attributes', () => {
    expect(escapeXmlText('a & b < c > d "e" \'f\'')).toBe('a &amp; b &lt; c &gt; d "e" \'f\'');
    expect(escapeXmlAttr('a & b < c > d "e" \'f\'')).toBe('a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;');
  });

  it('writes control characters and CR as character references; keeps tab and LF in text', () => {
    expect(escapeXmlText('a\u0001b\rc\td\ne\u001f')).toBe('a&#x1;b&#xD;c\td\ne&#x1F;');
    expect(escapeXmlAttr('a\tb\nc\rd')).toBe('a&#x9;b&#xA;c&#xD;d');
  });

  it('leaves plain and non-ASCII text alone', () => {
    const s = 'plain ünïcödé 日本 😀';
    expect(escapeXmlText(s)).toBe(s);
    expect(escapeXmlAttr(s)).toBe(s);
  });
});

describe('building', () => {
  it('renders a response document with the S3 namespace', () => {
    const doc = renderXmlDocument(
      elementWithAttrs(
        'ListAllMyBucketsResult',
        { xmlns: S3_XMLNS },
        element('Owner', element('ID', 'abc'), element('DisplayName', 'me & you')),
        element('Buckets', [
          element('Bucket', element('Name', 'b1'), element('CreationDate', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))),
          element('Bucket', element('Name', 'b2'), null, undefined),
        ]),
        element('IsTruncated', false),
        element('MaxKeys', 1000),
        element('Prefix', ''),
        element('Empty'),
      ),
    );
    expect(doc).toBe(
      `${XML_DECLARATION}\n<ListAllMyBucketsResult xmlns="${S3_XMLNS}"><Owner><ID>abc</ID><DisplayName>me &amp; you</DisplayName></Owner>` +
        '<Buckets><Bucket><Name>b1</Name><CreationDate>2026-01-02T03:04:05.006Z</CreationDate></Bucket>' +
        '<Bucket><Name>b2</Name></Bucket></Buckets><IsTruncated>false</IsTruncated><MaxKeys>1000</MaxKeys>' +
        '<Prefix></Prefix><Empty/></ListAllMyBucketsResult>',
    );
    expect(XML_DECLARATION).toBe('<?xml version="1.0" encoding="UTF-8"?>');
  });

  it('a hostile key cannot inject markup', () => {
    const key = '</Key><Injected>x</Injected><Key>';
    const xml = renderXml(element('Contents', element('Key', key)));
    expect(xml).toBe('<Contents><Key>&lt;/Key&gt;&lt;Injected&gt;x&lt;/Injected&gt;&lt;Key&gt;</Key></Contents>');
    expect(childText(parseXml(xml, LIMITS), 'Key')).toBe(key);
  });

  it('asserts element and attribute names', () => {
    expect(() => element('bad name')).toThrow(/invalid XML element name/);
    expect(() => element('<x>')).toThrow();
    expect(() => elementWithAttrs('X', { 'a b': '1' })).toThrow(/invalid XML attribute name/);
  });

  it('round-trips awkward keys through build and parse', () => {
    const keys = [' lead', 'trail ', 'a\r\nb', 'tab\there', 'ctl\u0001\u001f', '&amp;', ']]>', 'ü日😀', '"\'<>'];
    const xml = renderXmlDocument(element('Delete', keys.map((k) => element('Object', element('Key', k)))));
    const root = parseXml(xml, LIMITS);
    expect(childElements(root, 'Object').map((o) => childText(o, 'Key'))).toEqual(keys);
  });
});

describe('parsing S3 request bodies', () => {
  it('CreateBucketConfiguration with namespace and declaration', () => {
    const root = parseXml(
      `<?xml version="1.0" encoding="UTF-8"?>\n<CreateBucketConfiguration xmlns="${S3_XMLNS}">\n  <LocationConstraint>eu-west-1</LocationConstraint>\n</CreateBucketConfiguration>\n`,
      LIMITS,
    );
    expect(root.name).toBe('CreateBucketConfiguration');
    expect(root.attrs).toEqual({ xmlns: S3_XMLNS });
    expect(childText(root, 'LocationConstraint')).toBe('eu-west-1');
  });

  it('Delete with Quiet, keys and version ids (text never trimmed)', () => {
    const root = parseXml(
      Buffer.from(
        '<Delete><Quiet>true</Quiet><Object><Key> a key </Key></Object>' +
          '<Object><Key>k&amp;&lt;&gt;&quot;&apos;&#65;&#x1F600;</Key><VersionId>v1</VersionId></Object></Delete>',
      ),
      LIMITS,
    );
    expect(childText(root, 'Quiet')).toBe('true');
    const objects = childElements(root, 'Object');
    expect(objects.map((o) => childText(o, 'Key'))).toEqual([' a key ', 'k&<>"\'A😀']);
    expect(childText(objects[1]!, 'VersionId')).toBe('v1');
    expect(childText(objects[0]!, 'VersionId')).toBeUndefined();
  });

  it('CompleteMultipartUpload with checksums, prefixed names and a BOM', () => {
    const root = parseXml(
      '\uFEFF<s3:CompleteMultipartUpload xmlns:s3="' + S3_XMLNS + '">' +
        '<s3:Part><s3:PartNumber>1</s3:PartNumber><s3:ETag>"abc"</s3:ETag><s3:ChecksumCRC32>AAAAAA==</s3:ChecksumCRC32></s3:Part>' +
        '<s3:Part><s3:PartNumber>2</s3:PartNumber><s3:ETag>&quot;def&quot;</s3:ETag></s3:Part>' +
        '</s3:CompleteMultipartUpload>',
      LIMITS,
    );
    const parts = childElements(root, 'Part');
    expect(parts.map((p) => [childText(p, 'PartNumber'), childText(p, 'ETag')])).toEqual([
      ['1', '"abc"'],
      ['2', '"def"'],
    ]);
    expect(childText(parts[0]!, 'ChecksumCRC32')).toBe('AAAAAA==');
    expect(firstChild(root, 'Nope')).toBeUndefined();
  });

  it('comments, CDATA, self-closing elements, single-quoted attributes', () => {
    const root = parseXml(
      "<!-- lead --><R a='1' b=\"2\"><!-- c --><E/><T><![CDATA[<not & markup>]]>tail</T></R><!-- trail -->",
      LIMITS,
    );
    expect(root.attrs).toEqual({ a: '1', b: '2' });
    expect(root.children.map((c) => c.name)).toEqual(['E', 'T']);
    expect(childText(root, 'T')).toBe('<not & markup>tail');
    expect(childText(root, 'E')).toBe('');
  });

  it('normalizes CRLF in text, keeps &#13;', () => {
    expect(parseXml('<K>a\r\nb\rc&#13;d</K>', LIMITS).text).toBe('a\nb\nc\rd');
  });

  it('a self-closing root', () => {
    expect(parseXml('<Delete/>', LIMITS)).toEqual({ name: 'Delete', attrs: {}, children: [], text: '' });
  });

  it('a 1000-object Delete within 1 MiB', () => {
    const body = '<Delete>' + Array.from({ length: 1000 }, (_, i) => `<Object><Key>key-${i}</Key></Object>`).join('') + '</Delete>';
    expect(childElements(parseXml(body, LIMITS), 'Object')).toHaveLength(1000);
  });
});

describe('hostile and malformed inputs → MalformedXML', () => {
  it('billion laughs (DOCTYPE with entities)', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>';
    expect(malformed(bomb)).toMatch(/DOCTYPE/);
  });

  it('an XML declaration that never closes is refused in linear time (1 MB of spaces)', () => {
    // A backtracking pattern took seconds for 60 KB here, and hours for 1 MB: this test would time out.
    expect(malformed('<?xml' + ' '.repeat(1_000_000))).toMatch(/declaration/);
    expect(malformed('<?xmlfoo?><A/>')).toMatch(/declaration/);
    expect(parseXml('<?xml version="1.0" encoding="UTF-8" ?><A/>', LIMITS).name).toBe('A');
  });

  it('external entities (XXE)', () => {
    expect(malformed('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')).toMatch(/DOCTYPE/);
    expect(malformed('<r>&x;</r>')).toMatch(/undefined entity/);
  });

  it('a DOCTYPE or other declaration inside the root', () => {
    expect(malformed('<r><!DOCTYPE r></r>')).toMatch(/DOCTYPE/);
    expect(malformed('<r><!ELEMENT r ANY></r>')).toMatch(/DOCTYPE/);
  });

  it.each<[string, string]>([
    ['unclosed tag', '<Delete><Object><Key>k</Key></Object>'],
    ['unclosed root', '<Delete>'],
    ['mismatched tags', '<Delete><Object></Key></Delete>'],
    ['end tag without start', '</Delete>'],
    ['two roots', '<A/><B/>'],
    ['text before the root', 'x<A/>'],
    ['text after the root', '<A/>x'],
    ['empty document', ''],
    ['only whitespace', '  \n '],
    ['only a declaration', '<?xml version="1.0"?>'],
    ['declaration not at the start', ' <?xml version="1.0"?><A/>'],
    ['processing instruction', '<A><?php echo 1; ?></A>'],
    ['non-UTF-8 declared encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><A/>'],
    ['unquoted attribute', '<A b=1/>'],
    ['duplicate attribute', '<A b="1" b="2"/>'],
    ['"<" in attribute', '<A b="<"/>'],
    ['attributes without whitespace', '<A b="1"c="2"/>'],
    ['bare ampersand', '<A>a & b</A>'],
    ['unterminated reference', '<A>&amp</A>'],
    ['numeric reference to NUL', '<A>&#0;</A>'],
    ['numeric reference to a surrogate', '<A>&#xD800;</A>'],
    ['numeric reference out of range', '<A>&#x110000;</A>'],
    ['bad numeric reference', '<A>&#xZZ;</A>'],
    ['raw control character', '<A>\u0001</A>'],
    ['raw NUL', '<A>\u0000</A>'],
    ['unterminated comment', '<A><!-- x</A>'],
    ['double hyphen in comment', '<A><!-- a -- b --></A>'],
    ['unterminated CDATA', '<A><![CDATA[x</A>'],
    ['CDATA outside the root', '<![CDATA[x]]><A/>'],
    ['bad element name', '<1A/>'],
    ['space after "<"', '< A/>'],
  ])('%s', (_name, input) => {
    malformed(input);
  });

  it('invalid UTF-8 bytes', () => {
    malformed(Buffer.from([0x3c, 0x41, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x41, 0x3e]));
    malformed(Buffer.from([0x3c, 0x41, 0x3e, 0xc3, 0x3c, 0x2f, 0x41, 0x3e]));
  });

  it('larger than maxBytes (counted in UTF-8 bytes)', () => {
    const body = '<A>' + 'ü'.repeat(100) + '</A>';
    expect(parseXml(body, { maxBytes: 207 }).text).toHaveLength(100);
    expect(malformed(body, { maxBytes: 206 })).toMatch(/larger than 206/);
    expect(malformed(Buffer.from(body), { maxBytes: 206 })).toMatch(/larger than 206/);
  });

  it('deeper than maxDepth, without exhausting the stack', () => {
    expect(parseXml('<a><a><a></a></a></a>', { ...LIMITS, maxDepth: 3 }).children).toHaveLength(1);
    expect(malformed('<a><a><a><a></a></a></a></a>', { ...LIMITS, maxDepth: 3 })).toMatch(/deeper than 3/);
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    expect(malformed(deep, { maxBytes: 10_000_000 })).toMatch(/deeper than 32/);
    expect(malformed('<a>'.repeat(100_000), { maxBytes: 10_000_000, maxDepth: 1_000_000 })).toMatch(/unclosed/);
  });

  it('more than maxNodes elements', () => {
    expect(malformed('<r>' + '<x/>'.repeat(11) + '</r>', { ...LIMITS, maxNodes: 10 })).toMatch(/more than 10 elements/);
  });

  it('a prototype-polluting attribute name stays an own data property', () => {
    const root = parseXml('<A __proto__="x" constructor="y"/>', LIMITS);
    expect(Object.getOwnPropertyNames(root.attrs).sort()).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});
