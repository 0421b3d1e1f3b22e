// The dialplan applications that only change channel variables (set,
// export, unset), as mod_dptools runs them, for the dialplan engine: at hunt
// time for `inline="true"` actions, and in the engine's simulation of the
// action list (HuntResult.variables / exported).
//
// FreeSWITCH expands `${...}` in every application's data before running
// it, and `set` / `export` expand the VALUE once more (base_set /
// base_export). So `set x=${verto_dvar_y}` with `y` = `${system(rm)}` runs
// the `system` API: outside data must never reach a set value unchecked.

import { expandVariables, type ExpandContext } from './dialplan-expand.ts';

export interface VariableState {
  readonly vars: Map<string, string>;
  /** Variables the export application marked for the bridged leg, with their values. */
  readonly exported: Map<string, string>;
}

/** Whether `app` is one of the variable applications this module runs. */
export function isVariableApp(app: string): boolean {
  return app === 'set' || app === 'export' || app === 'unset';
}

/**
 * Run set/export/unset with data already expanded once (as the core does).
 * Returns false for any other application.
 */
export function runVariableApp(app: string, expandedData: string, state: VariableState, ctx: ExpandContext): boolean {
  if (app === 'unset') {
    state.vars.delete(expandedData.trim());
    return true;
  }
  if (app !== 'set' && app !== 'export') return false;
  let data = expandedData;
  let local = true;
  if (app === 'export' && data.startsWith('nolocal:')) {
    local = false;
    data = data.slice('nolocal:'.length);
  }
  let sep = data.indexOf('=');
  if (sep < 0 && app === 'set') sep = data.indexOf(',');
  const name = sep < 0 ? data : data.slice(0, sep);
  const raw = sep < 0 ? '' : data.slice(sep + 1);
  if (name === '') return true;
  const value = raw === '' ? undefined : expandVariables(raw, ctx);
  if (app === 'export') {
    if (value === undefined) state.exported.delete(name);
    else state.exported.set(name, value);
  }
  if (local) {
    if (value === undefined || value === '') state.vars.delete(name);
    else state.vars.set(name, value);
  }
  return true;
}

/** switch_true: the strings FreeSWITCH reads as true. */
export function isTrue(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (['yes', 'on', 'true', 't', 'enabled', 'enable', 'active', 'allow'].includes(v)) return true;
  return /^-?[0-9]+$/.test(v) && Number(v) !== 0;
}
