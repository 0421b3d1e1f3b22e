// One dialplan hunt through a context, following mod_dialplan_xml's
// parse_exten / dialplan_hunt (FreeSWITCH 1.10/1.11): extensions in order,
// conditions in order with break on-false (default) / on-true / always /
// never, `regex="any|all|xor"` with <regex> children, anti-actions on a
// failed condition, nested conditions (require-nested), `continue` on the
// extension, `$N` captures substituted into action data at hunt time,
// `inline="true"` actions executed at hunt time. Variables in action data
// are NOT expanded here: FreeSWITCH expands them when the action runs.
//
// Left out: date/time conditions (rejected at load), the DP_MATCH /
// DP_REGEX_MATCH_n array variables, auto_hunt.

import { compilePcre, substituteCaptures } from './dialplan-regex.ts';
import { expandVariables, type ExpandContext } from './dialplan-expand.ts';
import { isTrue, runVariableApp, type VariableState } from './dialplan-vars.ts';
import { attr, childrenNamed, type XmlElement } from './xml-lite.ts';

export interface HuntedAction {
  readonly app: string;
  /** Data after `$N` substitution, before `${var}` expansion. */
  readonly template: string;
  readonly extension: string;
}

export interface HuntOutput {
  readonly actions: HuntedAction[];
  readonly inline: { app: string; data: string }[];
  /** An extension was started (some action or anti-action was reached). */
  created: boolean;
}

/** Caller-profile fields a condition can name without `${}` (switch_caller_get_field_by_name). */
export const PROFILE_FIELDS: ReadonlySet<string> = new Set([
  'dialplan', 'username', 'caller_id_name', 'caller_id_number', 'orig_caller_id_name', 'orig_caller_id_number',
  'callee_id_name', 'callee_id_number', 'ani', 'aniii', 'network_addr', 'rdnis', 'destination_number', 'uuid',
  'source', 'transfer_source', 'context', 'chan_name', 'profile_index',
]);

type Subst = { readonly match: RegExpExecArray | null } | undefined;

interface Ctx {
  readonly state: VariableState;
  readonly expand: ExpandContext;
  readonly out: HuntOutput;
}

export function huntContext(context: XmlElement, state: VariableState, expand: ExpandContext): HuntOutput {
  const ctx: Ctx = { state, expand, out: { actions: [], inline: [], created: false } };
  for (const exten of childrenNamed(context, 'extension')) {
    const name = attr(exten, 'name') ?? 'UNKNOWN';
    const proceed = parseExten(exten, name, 0, ctx);
    if (proceed && !isTrue(attr(exten, 'continue'))) break;
  }
  return ctx.out;
}

function parseExten(node: XmlElement, name: string, recur: number, ctx: Ctx): boolean {
  if (recur > 100) return false;
  const requireNested = recur === 0 || attr(node, 'require-nested') === undefined || isTrue(attr(node, 'require-nested'));
  let proceed = false;
  for (const cond of childrenNamed(node, 'condition')) {
    const brk = (attr(cond, 'break') ?? 'on-false').toLowerCase();
    let antiAction: boolean;
    let subst: Subst;
    if (attr(cond, 'regex') !== undefined) {
      ({ antiAction, proceed, subst } = evalRegexList(cond, ctx));
    } else {
      const expression = expandVariables(expressionOf(cond), ctx.expand);
      const field = attr(cond, 'field');
      if (field !== undefined) {
        const match = compilePcre(expression).exec(fieldData(field, ctx));
        proceed = match !== null;
        antiAction = !proceed;
        subst = expression.includes('(') ? { match } : undefined;
      } else {
        antiAction = false;
        proceed = true;
      }
    }
    if (antiAction) {
      for (const anti of childrenNamed(cond, 'anti-action')) {
        addAction(anti, actionData(anti), name, ctx);
        proceed = true;
      }
    } else {
      for (const action of childrenNamed(cond, 'action')) {
        const raw = actionData(action);
        addAction(action, subst ? substituteCaptures(raw, subst.match) : raw, name, ctx);
      }
    }
    if ((!antiAction && brk === 'on-true') || (antiAction && brk === 'on-false') || brk === 'always') break;
    if (proceed && childrenNamed(cond, 'condition').length > 0) {
      proceed = parseExten(cond, name, recur + 1, ctx);
      if (!proceed) {
        if (brk === 'never') continue;
        return !requireNested;
      }
    }
  }
  return requireNested ? proceed : true;
}

interface RegexListResult {
  antiAction: boolean;
  proceed: boolean;
  subst: Subst;
}

function evalRegexList(cond: XmlElement, ctx: Ctx): RegexListResult {
  const rule = (attr(cond, 'regex') ?? '').toLowerCase();
  const all = rule === 'all';
  const xor = rule === 'xor';
  let pass = 0;
  let fail = 0;
  let proceed = false;
  let current: { field: string | undefined; expression: string; match: RegExpExecArray | null } | undefined;
  let saved: { match: RegExpExecArray | null; proceed: boolean } | undefined;
  for (const rx of childrenNamed(cond, 'regex')) {
    const expression = expandVariables(expressionOf(rx), ctx.expand);
    const field = attr(rx, 'field');
    if (field !== undefined) {
      const match = compilePcre(expression).exec(fieldData(field, ctx));
      proceed = match !== null;
      current = { field, expression, match };
      if (match) {
        pass += 1;
        if (!all && !xor) break;
      } else {
        fail += 1;
        if (all && !xor) break;
      }
    } else {
      current = { field, expression, match: null };
      pass += 1;
      proceed = true;
      if (!all && !xor) break;
    }
    if (field !== undefined && expression.includes('(')) saved = { match: current.match, proceed };
  }
  const matched = xor ? pass === 1 : (all && fail === 0) || (!all && pass > 0);
  if (saved) return { antiAction: !matched, proceed: saved.proceed, subst: { match: saved.match } };
  const subst = current?.field !== undefined && current.expression.includes('(') ? { match: current.match } : undefined;
  return { antiAction: !matched, proceed, subst };
}

function fieldData(field: string, ctx: Ctx): string {
  if (field.includes('$')) return expandVariables(field, ctx.expand);
  return PROFILE_FIELDS.has(field) ? (ctx.state.vars.get(field) ?? '') : '';
}

/** The `<expression>` child's text, else the expression attribute. */
function expressionOf(node: XmlElement): string {
  const child = childrenNamed(node, 'expression')[0];
  return child ? child.text.trim() : (attr(node, 'expression') ?? '');
}

/** Element text when not empty, else the data attribute. */
function actionData(node: XmlElement): string {
  const text = node.text.trim();
  return text !== '' ? text : (attr(node, 'data') ?? '');
}

function addAction(node: XmlElement, data: string, extension: string, ctx: Ctx): void {
  const app = attr(node, 'application') ?? '';
  const loop = attr(node, 'loop');
  const count = loop === undefined ? 1 : parseInt(loop, 10) || 0;
  ctx.out.created = true;
  for (let k = 0; k < count; k += 1) {
    if (isTrue(attr(node, 'inline'))) {
      const expanded = expandVariables(data, ctx.expand);
      if (!runVariableApp(app, expanded, ctx.state, ctx.expand)) {
        throw new Error(`inline="true" is only simulated for set/export/unset, not ${app}`);
      }
      ctx.out.inline.push({ app, data: expanded });
    } else {
      ctx.out.actions.push({ app, template: data, extension });
    }
  }
}
