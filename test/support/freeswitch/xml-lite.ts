// A small, strict XML parser for the subset FreeSWITCH configuration uses:
// one root element, nested elements, attributes in single or double quotes,
// comments, CDATA, the XML declaration and the five predefined entities plus
// numeric character references. No DTDs, no processing instructions other
// than the declaration, no namespaces. Anything outside that subset is an
// error with a line number, never silently accepted.

export interface XmlElement {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Direct text content (CDATA included), entity-decoded, not trimmed. */
  readonly text: string;
  /** 1-based line of the start tag, for error messages. */
  readonly line: number;
}

interface MutableElement {
  name: string;
  attrs: Map<string, string>;
  children: MutableElement[];
  text: string;
  line: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*/;
const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

export function parseXml(source: string, sourceName = 'xml'): XmlElement {
  let pos = 0;
  const lineAt = (at: number): number => source.slice(0, at).split('\n').length;
  const fail = (message: string, at = pos): never => {
    throw new XmlSyntaxError(`${sourceName}:${lineAt(at)}: ${message}`);
  };

  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) fail(`bare '&' (write &amp;)`, at);
      if (ref.startsWith('#x')) return codePoint(parseInt(ref.slice(2), 16), whole, at);
      if (ref.startsWith('#')) return codePoint(parseInt(ref.slice(1), 10), whole, at);
      const value = ENTITIES[ref];
      if (value === undefined) fail(`unknown entity ${whole}`, at);
      return value ?? '';
    });
  const codePoint = (n: number, whole: string, at: number): string => {
    if (!Number.isInteger(n) || n <= 0 || n > 0x10ffff) fail(`bad character reference ${whole}`, at);
    return String.fromCodePoint(n);
  };

  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(source.slice(pos));
      pos += ws?.[0].length ?? 0;
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos + 4);
        if (end < 0) fail('unterminated comment');
        if (source.slice(pos + 4, end).includes('--')) fail("'--' inside a comment");
        pos = end + 3;
      } else {
        return;
      }
    }
  };

  const parseAttrs = (element: MutableElement): void => {
    for (;;) {
      const ws = /^\s*/.exec(source.slice(pos));
      const spaced = (ws?.[0].length ?? 0) > 0;
      pos += ws?.[0].length ?? 0;
      const ch = source[pos];
      if (ch === '>' || ch === '/' || ch === undefined) return;
      if (!spaced) fail('attributes must be separated by white space');
      const name = NAME.exec(source.slice(pos))?.[0];
      if (name === undefined) fail(`bad attribute name at '${source.slice(pos, pos + 10)}'`);
      const attrName = name ?? '';
      pos += attrName.length;
      const eq = /^\s*=\s*/.exec(source.slice(pos));
      if (!eq) fail(`attribute ${attrName} has no value`);
      pos += eq?.[0].length ?? 0;
      const quote = source[pos];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attrName} value must be quoted`);
      const end = source.indexOf(quote ?? '"', pos + 1);
      if (end < 0) fail(`unterminated value of attribute ${attrName}`);
      const raw = source.slice(pos + 1, end);
      if (raw.includes('<')) fail(`'<' in the value of attribute ${attrName}`);
      if (element.attrs.has(attrName)) fail(`duplicate attribute ${attrName}`);
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal tab/CR/LF become spaces.
      element.attrs.set(attrName, decode(raw.replace(/[\t\r\n]/g, ' '), pos));
      pos = end + 1;
    }
  };

  const parseElement = (): MutableElement => {
    const start = pos;
    pos += 1; // '<'
    const name = NAME.exec(source.slice(pos))?.[0];
    if (name === undefined) fail('bad element name');
    const element: MutableElement = { name: name ?? '', attrs: new Map(), children: [], text: '', line: lineAt(start) };
    pos += element.name.length;
    parseAttrs(element);
    if (source.startsWith('/>', pos)) {
      pos += 2;
      return element;
    }
    if (source[pos] !== '>') fail(`unterminated start tag <${element.name}>`);
    pos += 1;
    for (;;) {
      if (pos >= source.length) fail(`<${element.name}> (line ${element.line}) is never closed`);
      if (source.startsWith('</', pos)) {
        const close = /^<\/([A-Za-z_][A-Za-z0-9_.:-]*)\s*>/.exec(source.slice(pos));
        if (!close || close[1] !== element.name) fail(`expected </${element.name}> (opened on line ${element.line})`);
        pos += close?.[0].length ?? 0;
        return element;
      }
      if (source.startsWith('<!--', pos)) {
        skipMisc();
      } else if (source.startsWith('<![CDATA[', pos)) {
        const end = source.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA section');
        element.text += source.slice(pos + 9, end);
        pos = end + 3;
      } else if (source.startsWith('<!', pos) || source.startsWith('<?', pos)) {
        fail('declarations and processing instructions are not supported inside elements');
      } else if (source[pos] === '<') {
        element.children.push(parseElement());
      } else {
        const next = source.indexOf('<', pos);
        const end = next < 0 ? source.length : next;
        const raw = source.slice(pos, end);
        if (raw.includes(']]>')) fail("']]>' in text");
        element.text += decode(raw, pos);
        pos = end;
      }
    }
  };

  if (source.startsWith('\uFEFF')) pos = 1;
  skipMisc();
  if (source.startsWith('<?xml', pos)) {
    const end = source.indexOf('?>', pos);
    if (end < 0) fail('unterminated XML declaration');
    pos = end + 2;
  }
  skipMisc();
  if (source.startsWith('<!DOCTYPE', pos)) fail('DOCTYPE is not supported');
  if (source[pos] !== '<') fail('expected the root element');
  const root = parseElement();
  skipMisc();
  if (pos < source.length) fail('content after the root element');
  return root;
}

/** Attribute value, or undefined. */
export function attr(element: XmlElement, name: string): string | undefined {
  return element.attrs.get(name);
}

/** Children with this element name, in document order. */
export function childrenNamed(element: XmlElement, name: string): readonly XmlElement[] {
  return element.children.filter((child) => child.name === name);
}
