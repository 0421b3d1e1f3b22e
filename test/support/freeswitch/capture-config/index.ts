// The dialplan of the FreeSWITCH instance behind shared/traces/real/, ready
// for replay tests: `default` (echo 9196, Local_Extension, the capture's
// 1555/1556/1557 and 1560..1566 gateways) and vanilla `public`.

import { readFileSync } from 'node:fs';
import { loadDialplanEngine, type DialplanApi, type XmlDialplanEngine } from '../dialplan.ts';

const FILES = ['vars.xml', 'dialplan-default.xml', 'dialplan-public.xml'] as const;

/** The gateways the capture's external profile had, by name. */
export const CAPTURE_GATEWAYS = ['sipp', 'sipp_bye', 'sipp_busy', 't486', 't480', 't404', 't503', 't603', 'tring', 'tring2'] as const;

export interface CaptureDialplanOptions {
  /** APIs on top of the defaults (strftime, user_data); e.g. verto_contact. */
  readonly apis?: Readonly<Record<string, DialplanApi>>;
  /** Clock for `${strftime(...)}`; default: now. */
  readonly now?: () => Date;
}

export function loadCaptureDialplan(options: CaptureDialplanOptions = {}): XmlDialplanEngine {
  const texts = FILES.map((file) => readFileSync(new URL(file, import.meta.url), 'utf8'));
  const now = options.now ?? (() => new Date());
  return loadDialplanEngine(texts, {
    sourceNames: FILES.map((file) => `capture-config/${file}`),
    apis: {
      strftime: (format) => strftime(format, now()),
      // Vanilla directory: users 1000..1019 have callgroup techsupport.
      user_data: (args) => (/^10[01][0-9]@\S+ var callgroup$/.test(args) ? 'techsupport' : undefined),
      ...options.apis,
    },
  });
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The strftime subset the vanilla dialplan uses, in UTC (the capture host ran on UTC). */
export function strftime(format: string, date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const table: Readonly<Record<string, string>> = {
    a: DAYS[date.getUTCDay()] ?? '',
    b: MONTHS[date.getUTCMonth()] ?? '',
    d: pad(date.getUTCDate()),
    Y: String(date.getUTCFullYear()),
    m: pad(date.getUTCMonth() + 1),
    H: pad(date.getUTCHours()),
    M: pad(date.getUTCMinutes()),
    S: pad(date.getUTCSeconds()),
    T: `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`,
    z: '+0000',
    '%': '%',
  };
  return format.replace(/%(.)/g, (whole, c: string) => table[c] ?? whole);
}
