// The dialplan engine against mod_dialplan_xml semantics: break modes,
// anti-actions, continue, nested conditions, regex lists, inline set,
// captures, variable expansion, the PCRE dialect, the pre-processor.
import { describe, expect, it } from 'vitest';
import { loadDialplanEngine } from '../support/freeswitch/dialplan.ts';
import { compilePcre, substituteCaptures } from '../support/freeswitch/dialplan-regex.ts';

const ctx = (body: string): string => `<include><context name="t">${body}</context></include>`;
const run = (body: string, vars: Record<string, string>, globals: Record<string, string> = {}): string[] | undefined =>
  loadDialplanEngine([ctx(body)], { globals, apis: { upper: (a) => a.toUpperCase() } })
    .route('t', vars)?.map((a) => `${a.app}${a.data ? ` ${a.data}` : ''}`);

describe('conditions and extensions', () => {
  const twoConds = (brk: string): string => `<extension name="e">
      <condition field="destination_number" expression="^1$" break="${brk}"><action application="a1"/><anti-action application="x1"/></condition>
      <condition field="destination_number" expression="^2$"><action application="a2"/></condition>
    </extension><extension name="f"><condition><action application="next"/></condition></extension>`;

  it('break on-false (default) stops at a failed condition after its anti-actions', () => {
    expect(run(twoConds('on-false'), { destination_number: '2' })).toEqual(['x1']);
    expect(run(twoConds('on-false'), { destination_number: '1' })).toEqual(['a1', 'next']);
  });

  it('break on-true stops after a matched condition; never goes on either way', () => {
    expect(run(twoConds('on-true'), { destination_number: '1' })).toEqual(['a1']);
    expect(run(twoConds('never'), { destination_number: '2' })).toEqual(['x1', 'a2']);
    expect(run(twoConds('always'), { destination_number: '2' })).toEqual(['x1']);
  });

  it('a failed extension without anti-actions falls through; continue="true" keeps hunting', () => {
    const body = `<extension name="a" continue="true"><condition><action application="first"/></condition></extension>
      <extension name="b"><condition field="destination_number" expression="^9$"><action application="nine"/></condition></extension>
      <extension name="c"><condition><action application="last"/></condition></extension>`;
    expect(run(body, { destination_number: '9' })).toEqual(['first', 'nine']);
    expect(run(body, { destination_number: '8' })).toEqual(['first', 'last']);
  });

  it('no matching extension: undefined (NO_ROUTE_DESTINATION)', () => {
    expect(run('<extension><condition field="destination_number" expression="^1$"><action application="a"/></condition></extension>', {})).toBeUndefined();
    expect(loadDialplanEngine([ctx('')]).route('nope', {})).toBeUndefined();
  });

  it('nested conditions run after the parent actions; require-nested="false" keeps the extension', () => {
    const body = (req: string): string => `<extension name="e"><condition field="\${a}" expression="^x$" ${req}>
        <action application="outer"/>
        <condition field="destination_number" expression="^(\\d+)$"><action application="inner" data="$1"/></condition>
      </condition></extension><extension name="z"><condition><action application="z"/></condition></extension>`;
    expect(run(body(''), { a: 'x', destination_number: '42' })).toEqual(['outer', 'inner 42']);
    expect(run(body(''), { a: 'x', destination_number: 'no' })).toEqual(['outer', 'z']);
    expect(run(body('require-nested="false"'), { a: 'x', destination_number: 'no' })).toEqual(['outer']);
  });

  it('regex="all|any|xor" with <regex> children', () => {
    const body = (rule: string): string => `<extension name="e"><condition regex="${rule}">
        <regex field="destination_number" expression="^1"/><regex field="caller_id_number" expression="^(2)$"/>
        <action application="yes" data="$1"/><anti-action application="no"/></condition></extension>`;
    expect(run(body('all'), { destination_number: '1', caller_id_number: '2' })).toEqual(['yes 2']);
    expect(run(body('all'), { destination_number: '1', caller_id_number: '3' })).toEqual(['no']);
    expect(run(body('any'), { destination_number: '0', caller_id_number: '2' })).toEqual(['yes 2']);
    expect(run(body('xor'), { destination_number: '1', caller_id_number: '2' })).toEqual(['no']);
    expect(run(body('xor'), { destination_number: '1', caller_id_number: '3' })).toEqual(['yes']);
  });

  it('inline set is visible to later conditions; plain set is not', () => {
    const body = (inline: string): string => `<extension name="e">
        <condition><action application="set" data="flag=on" ${inline}/></condition>
        <condition field="\${flag}" expression="^on$"><action application="seen"/><anti-action application="unseen"/></condition></extension>`;
    expect(run(body('inline="true"'), {})).toEqual(['seen']);
    expect(run(body(''), {})).toEqual(['set flag=on', 'unseen']);
  });

  it('expression in an <expression> child, data in element text, loop', () => {
    const body = `<extension name="e"><condition field="destination_number"><expression><![CDATA[^(\\d{2})<$]]></expression>
        <action application="log">got $1</action><action application="beep" loop="2"/></condition></extension>`;
    expect(run(body, { destination_number: '12<' })).toEqual(['log got 12', 'beep', 'beep']);
  });
});

describe('expansion', () => {
  const echo = '<extension name="e"><condition><action application="echo" data="${v}|${v:1:2}|${upper(${w})}|$${g}|\\${v}"/></condition></extension>';
  it('expands variables, substrings, APIs, globals and escapes', () => {
    expect(run(echo, { v: 'abcd', w: 'xy' }, { g: 'G' })).toEqual(['echo abcd|bc|XY|G|${v}']);
  });

  it('inserts channel variable values literally: no second expansion', () => {
    const engine = loadDialplanEngine([ctx(echo)], { globals: { g: 'G' }, apis: { upper: (a) => a.toUpperCase() } });
    const result = engine.hunt('t', { v: '${upper(pwned)}', w: '' });
    expect(result?.actions[0]?.data).toBe('${upper(pwned)}|{u||G|${v}');
    expect(result?.apiCalls).toEqual([{ name: 'upper', args: '' }]);
  });

  it('set expands its value twice, as base_set does', () => {
    const engine = loadDialplanEngine([ctx('<extension name="e"><condition><action application="set" data="x=${v}"/></condition></extension>')],
      { apis: { upper: (a) => a.toUpperCase() } });
    const result = engine.hunt('t', { v: '${upper(pwned)}' });
    expect(result?.variables['x']).toBe('PWNED');
    expect(result?.apiCalls).toEqual([{ name: 'upper', args: 'pwned' }]);
  });
});

describe('regex dialect and captures', () => {
  it('PCRE $ matches before a final newline, \\z does not', () => {
    expect(compilePcre('^(\\d+)$').exec('12\n')?.[1]).toBe('12');
    expect(compilePcre('^(\\d+)\\z').exec('12\n')).toBeNull();
    expect(compilePcre('^[]a]$').test(']')).toBe(true);
    expect(compilePcre('/^abc$/i').test('ABC')).toBe(true);
    expect(compilePcre('^\\s$').test('\u00a0')).toBe(false);
  });

  it('rejects constructs it cannot reproduce', () => {
    for (const re of ['a++', '(?>a)', '(?i)a', '\\Qa\\E', '_1XXX', '\\p{L}']) expect(() => compilePcre(re)).toThrow();
  });

  it('substitutes $N and ${N} like switch_perform_substitution', () => {
    const m = /^(a)(b)?(c)$/.exec('ac');
    expect(substituteCaptures('$1-$2-$3-${1}0-$9-$x-${var}-$', m)).toBe('a--c-a0--$x-${var}-$');
    expect(substituteCaptures('$15551234', /^(1)$/.exec('1'))).toBe('');
  });
});

describe('loading', () => {
  it('pre-processor: set, $${} substitution, strict errors', () => {
    const vars = '<include><X-PRE-PROCESS cmd="set" data="d=example.org"/></include>';
    const engine = loadDialplanEngine([vars, ctx('<extension name="e"><condition><action application="x" data="$${d}"/></condition></extension>')]);
    expect(engine.route('t', {})).toEqual([expect.objectContaining({ app: 'x', data: 'example.org' })]);
    expect(() => loadDialplanEngine([ctx('<extension name="e"><condition><action application="x" data="$${nope}"/></condition></extension>')])).toThrow(/nope/);
    expect(() => loadDialplanEngine(['<include><!-- <X-PRE-PROCESS cmd="set" data="a=b"/> --></include>'])).toThrow(/comment/);
  });

  it('rejects unknown elements, attributes and malformed XML', () => {
    expect(() => loadDialplanEngine([ctx('<extension name="e"><condition wday="1"/></extension>')])).toThrow(/wday/);
    expect(() => loadDialplanEngine([ctx('<extension name="e"><actions/></extension>')])).toThrow(/actions/);
    expect(() => loadDialplanEngine([ctx('<extension name="e"><condition break="sometimes"/></extension>')])).toThrow(/break/);
    expect(() => loadDialplanEngine(['<include><context name="t"></include>'])).toThrow();
    expect(() => loadDialplanEngine(['<include a="1" a="2"/>'])).toThrow(/duplicate/);
  });

  it('first context of a name wins; unknown context falls back to global', () => {
    const a = ctx('<extension name="e"><condition><action application="first"/></condition></extension>');
    const b = ctx('<extension name="e"><condition><action application="second"/></condition></extension>');
    const g = '<include><context name="global"><extension name="g"><condition><action application="g"/></condition></extension></context></include>';
    const engine = loadDialplanEngine([a, b, g]);
    expect(engine.route('t', {})?.map((x) => x.app)).toEqual(['first']);
    expect(engine.route('other', {})?.map((x) => x.app)).toEqual(['g']);
  });
});
