// The FreeSWITCH user directory as mod_verto's check_auth sees it, and the
// auth gate itself (message texts and codes exactly as mod_verto writes them).
import { CODE_AUTH_FAILED, CODE_AUTH_REQUIRED, type Json } from './verto-rpc.ts';
import { stringField } from './verto-input.ts';

/** One directory user (`<user id>` with `<params>` and `<variables>`). */
export interface DirectoryUser {
  readonly id: string;
  readonly domain: string;
  /** `<params>`: password, jsonrpc-password, jsonrpc-allowed-methods, caller-id-name, verto-context… */
  readonly params: Readonly<Record<string, string>>;
  /** `<variables>`: user_context, effective_caller_id_name… copied onto every call. */
  readonly variables: Readonly<Record<string, string>>;
}

/** The verto.conf profile settings check_auth uses. */
export interface AuthProfile {
  /** `userauth`: true (id@domain from the login) or "@domain" (fixed domain). */
  readonly userauth: true | `@${string}`;
  /** `force-register-domain`: replaces the domain from the login. */
  readonly forceRegisterDomain?: string;
  /** `blind-reg`: accept unknown users. Default false. */
  readonly blindReg?: boolean;
}

export interface AuthenticatedUser {
  /** `id@domain` */
  readonly uid: string;
  readonly id: string;
  readonly domain: string;
  /** undefined: every method allowed (`__ANY__`); otherwise the allowed names (+ `login`). */
  readonly allowedMethods: ReadonlySet<string> | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly variables: Readonly<Record<string, string>>;
}

export type AuthOutcome =
  | { readonly ok: true; readonly user: AuthenticatedUser }
  | { readonly ok: false; readonly code: number; readonly message: string };

/** set_perm(): comma list (space list if it contains a space); `__ANY__` = no restriction. */
function parsePermissions(value: string | undefined): ReadonlySet<string> | undefined {
  if (value === '__ANY__') return undefined;
  const names = new Set<string>();
  if (value !== undefined && value !== '') {
    for (const n of value.split(value.includes(' ') ? ' ' : ',')) names.add(n);
  }
  names.add('login');
  return names;
}

/** jrpc_get_func's permission check: the method, or its part before the first dot. */
export function methodAllowed(user: AuthenticatedUser, method: string): boolean {
  if (user.allowedMethods === undefined) return true;
  const dot = method.indexOf('.');
  return user.allowedMethods.has(method) || (dot >= 0 && user.allowedMethods.has(method.slice(0, dot)));
}

function paramCI(params: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === name) return v;
  return undefined;
}

export class VertoDirectory {
  readonly #users: ReadonlyArray<DirectoryUser>;
  readonly #profile: AuthProfile;

  constructor(users: ReadonlyArray<DirectoryUser>, profile: AuthProfile = { userauth: true }) {
    this.#users = users;
    this.#profile = profile;
  }

  find(id: string, domain: string): DirectoryUser | undefined {
    return this.#users.find((u) => u.id === id && u.domain === domain);
  }

  /** check_auth() with one request's params (whatever type they have). */
  checkAuth(params: Json | undefined): AuthOutcome {
    if (params === undefined) return { ok: false, code: CODE_AUTH_FAILED, message: 'Missing params' };
    const login = stringField(params, 'login');
    const passwd = stringField(params, 'passwd');
    if (login === undefined || login === '') return { ok: false, code: CODE_AUTH_REQUIRED, message: 'Authentication Required' };
    if (passwd === undefined || passwd === '') return { ok: false, code: CODE_AUTH_FAILED, message: 'Missing passwd' };

    let id: string = login;
    let domain: string | undefined;
    if (this.#profile.userauth === true) {
      const at = login.indexOf('@');
      if (at >= 0) {
        id = login.slice(0, at);
        domain = login.slice(at + 1);
      }
    } else {
      domain = this.#profile.userauth.slice(1);
    }
    if (this.#profile.forceRegisterDomain !== undefined) domain = this.#profile.forceRegisterDomain;
    if (id === '' || domain === undefined || domain === '') {
      return { ok: false, code: CODE_AUTH_FAILED, message: 'Missing or improper credentials' };
    }

    const user = this.find(id, domain);
    if (user === undefined) {
      if (this.#profile.blindReg !== true) return { ok: false, code: CODE_AUTH_FAILED, message: 'Login Incorrect' };
      return { ok: true, user: { uid: `${id}@${domain}`, id, domain, allowedMethods: undefined, params: {}, variables: {} } };
    }
    const expected = paramCI(user.params, 'jsonrpc-password') ?? paramCI(user.params, 'password');
    if (expected === undefined || expected === '' || expected !== passwd) {
      return { ok: false, code: CODE_AUTH_FAILED, message: 'Authentication Failure' };
    }
    return {
      ok: true,
      user: {
        uid: `${id}@${domain}`,
        id,
        domain,
        allowedMethods: parsePermissions(paramCI(user.params, 'jsonrpc-allowed-methods')),
        params: user.params,
        variables: user.variables,
      },
    };
  }
}
