// Load-time checks of a dialplan context: only the elements and attributes
// the engine implements are accepted, break values are known, and every
// literal regex compiles. A typo (<actions>, brake="...") or an unsupported
// feature (time-of-day conditions) fails loudly instead of routing wrongly.

import { compilePcre } from './dialplan-regex.ts';
import { attr, type XmlElement } from './xml-lite.ts';

const ALLOWED: Readonly<Record<string, { attrs: readonly string[]; children: readonly string[] }>> = {
  context: { attrs: ['name'], children: ['extension'] },
  extension: { attrs: ['name', 'continue'], children: ['condition'] },
  condition: {
    attrs: ['field', 'expression', 'break', 'regex', 'require-nested'],
    children: ['action', 'anti-action', 'condition', 'expression', 'regex'],
  },
  regex: { attrs: ['field', 'expression'], children: ['expression'] },
  action: { attrs: ['application', 'data', 'inline', 'loop'], children: [] },
  'anti-action': { attrs: ['application', 'data', 'inline', 'loop'], children: [] },
  expression: { attrs: [], children: [] },
};

const BREAKS = new Set(['on-false', 'on-true', 'always', 'never']);
const REGEX_RULES = new Set(['any', 'all', 'xor']);

export function validateContext(context: XmlElement, sourceName: string): void {
  if (!attr(context, 'name')) throw new Error(`${sourceName}:${context.line}: <context> without a name`);
  check(context, sourceName);
}

function check(node: XmlElement, sourceName: string): void {
  const where = `${sourceName}:${node.line}: <${node.name}>`;
  const allowed = ALLOWED[node.name];
  if (!allowed) throw new Error(`${where} is not a dialplan element this engine supports`);
  for (const name of node.attrs.keys()) {
    if (!allowed.attrs.includes(name)) throw new Error(`${where} has unsupported attribute ${name}`);
  }
  for (const child of node.children) {
    if (!allowed.children.includes(child.name)) throw new Error(`${where} may not contain <${child.name}>`);
    check(child, sourceName);
  }
  const brk = attr(node, 'break');
  if (brk !== undefined && !BREAKS.has(brk.toLowerCase())) throw new Error(`${where} has unknown break="${brk}"`);
  const rule = attr(node, 'regex');
  if (rule !== undefined && !REGEX_RULES.has(rule.toLowerCase())) throw new Error(`${where} has unknown regex="${rule}"`);
  if ((node.name === 'action' || node.name === 'anti-action') && !attr(node, 'application')) {
    throw new Error(`${where} has no application`);
  }
  const expression = attr(node, 'expression');
  if (expression !== undefined && !expression.includes('${')) compilePcre(expression);
}
