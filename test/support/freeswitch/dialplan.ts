// The XML dialplan engine of the FreeSWITCH simulator: loads dialplan XML
// (the files shipped in freeswitch/dialplan/, or test configurations) and
// routes a call the way mod_dialplan_xml does. See dialplan-hunt.ts for the
// hunt itself, dialplan-expand.ts for `${}` expansion, dialplan-regex.ts for
// the regex dialect and dialplan-vars.ts for set/export/unset.
//
// Input files: each text is preprocessed (X-PRE-PROCESS set, `$${name}`),
// then parsed; its root is <include>, <context>, <document> or <section>,
// and every <context> found directly under it (or under <section>) is
// registered. As in a merged FreeSWITCH configuration, the first context of
// a name wins; a context that is not found falls back to `global`.
//
// Channel variables are passed with plain names (`destination_number`,
// `verto_dvar_mse_destination`), never with the `variable_` prefix of ESL
// events; caller-profile fields (destination_number, caller_id_number,
// network_addr...) are looked up in the same map.

import type { DialplanAction, DialplanEngine } from './contract.ts';
import { huntContext } from './dialplan-hunt.ts';
import { expandVariables, type ExpandContext } from './dialplan-expand.ts';
import { runVariableApp, type VariableState } from './dialplan-vars.ts';
import { validateContext } from './dialplan-validate.ts';
import { preprocessXml } from './xml-preprocess.ts';
import { attr, childrenNamed, parseXml, type XmlElement } from './xml-lite.ts';

export { expandVariables, type ExpandContext } from './dialplan-expand.ts';
export { runVariableApp, isVariableApp, type VariableState } from './dialplan-vars.ts';

export type DialplanApi = (args: string) => string | undefined;

export interface DialplanOptions {
  /** Pre-processor (global) variables; X-PRE-PROCESS set in the texts adds to them. */
  readonly globals?: Readonly<Record<string, string>>;
  /** APIs for `${name(args)}` expansion (e.g. verto_contact). Unknown APIs expand to ''. */
  readonly apis?: Readonly<Record<string, DialplanApi>>;
  /** Environment for X-PRE-PROCESS env-set. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Names for error messages, parallel to xmlTexts. */
  readonly sourceNames?: readonly string[];
}

export interface RoutedAction extends DialplanAction {
  /**
   * `data` after `$N` substitution but before `${var}` expansion. A channel
   * model must expand this when the action runs: variables set by earlier
   * actions (bridge sets originate_disposition...) exist only then.
   */
  readonly template: string;
  /** Name of the extension the action came from. */
  readonly extension: string;
}

export interface ApiCall {
  readonly name: string;
  readonly args: string;
}

export interface HuntResult {
  /**
   * Actions in order. `data` is expanded as if the actions ran one after the
   * other with only set/export/unset taking effect (so `${originate_disposition}`
   * after a bridge expands to '' here; use `template` at execution time).
   */
  readonly actions: readonly RoutedAction[];
  /** inline="true" actions executed during the hunt (data expanded). */
  readonly inlineActions: readonly DialplanAction[];
  /** Channel variables after the inline actions and the simulated set/export/unset. */
  readonly variables: Readonly<Record<string, string>>;
  /** Variables exported toward a bridged leg (export application). */
  readonly exported: Readonly<Record<string, string>>;
  /** Every API an expansion tried to run, during the hunt and the simulation. */
  readonly apiCalls: readonly ApiCall[];
}

export interface XmlDialplanEngine extends DialplanEngine {
  /** Full result, or undefined when no extension matched (NO_ROUTE_DESTINATION). */
  hunt(context: string, channelVariables: Readonly<Record<string, string>>): HuntResult | undefined;
  readonly contextNames: readonly string[];
  /** Pre-processor variables after loading (also the global channel variables). */
  readonly globals: ReadonlyMap<string, string>;
  /** Expand `${}` against a variable map the way the engine does (globals and APIs included). */
  expand(text: string, channelVariables: Readonly<Record<string, string>>): string;
}

export function loadDialplanEngine(xmlTexts: readonly string[], options: DialplanOptions = {}): XmlDialplanEngine {
  const globals = new Map<string, string>(Object.entries(options.globals ?? {}));
  const contexts = new Map<string, XmlElement>();
  xmlTexts.forEach((text, index) => {
    const sourceName = options.sourceNames?.[index] ?? `dialplan[${index}]`;
    const root = parseXml(preprocessXml(text, globals, sourceName, options.env), sourceName);
    for (const context of contextsOf(root, sourceName)) {
      validateContext(context, sourceName);
      const name = attr(context, 'name') ?? '';
      if (!contexts.has(name)) contexts.set(name, context);
    }
  });

  const expandContext = (vars: Map<string, string>, apiCalls: ApiCall[]): ExpandContext => ({
    variable: (name) => lookup(vars, name),
    global: (name) => globals.get(name),
    api: (name, args) => options.apis?.[name]?.(args),
    onApi: (name, args) => apiCalls.push({ name, args }),
  });

  const hunt = (contextName: string, channelVariables: Readonly<Record<string, string>>): HuntResult | undefined => {
    const context = contexts.get(contextName) ?? contexts.get('global');
    if (!context) return undefined;
    const state: VariableState = { vars: new Map(Object.entries(channelVariables)), exported: new Map() };
    const apiCalls: ApiCall[] = [];
    const ctx = expandContext(state.vars, apiCalls);
    const out = huntContext(context, state, ctx);
    if (!out.created) return undefined;
    const actions = out.actions.map((action): RoutedAction => {
      const data = expandVariables(action.template, ctx);
      runVariableApp(action.app, data, state, ctx);
      return { app: action.app, data, template: action.template, extension: action.extension };
    });
    return {
      actions,
      inlineActions: out.inline,
      variables: Object.fromEntries(state.vars),
      exported: Object.fromEntries(state.exported),
      apiCalls,
    };
  };

  return {
    hunt,
    route: (context, channelVariables) => hunt(context, channelVariables)?.actions,
    contextNames: [...contexts.keys()],
    globals,
    expand: (text, channelVariables) => expandVariables(text, expandContext(new Map(Object.entries(channelVariables)), [])),
  };
}

/** Channel variable lookup; FreeSWITCH variable names are case-insensitive. */
function lookup(vars: ReadonlyMap<string, string>, name: string): string | undefined {
  const exact = vars.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of vars) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function contextsOf(root: XmlElement, sourceName: string): readonly XmlElement[] {
  if (root.name === 'context') return [root];
  if (root.name === 'include' || root.name === 'section') return childrenNamed(root, 'context');
  if (root.name === 'document') {
    return childrenNamed(root, 'section')
      .filter((section) => attr(section, 'name') === 'dialplan')
      .flatMap((section) => childrenNamed(section, 'context'));
  }
  throw new Error(`${sourceName}: root element <${root.name}> holds no dialplan contexts`);
}
