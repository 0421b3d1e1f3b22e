import { parseArgs } from 'node:util';

export const HELP = `matrix-sip-edge: gives Matrix rooms access to SIP trunks through FreeSWITCH

Usage:
  matrix-sip-edge [run] [--config <file>]   start the edge (default command)
  matrix-sip-edge check [--config <file>]   validate the config, probe ESL, Verto and the homeserver
  matrix-sip-edge register [--config <file>] [--force]
                                            appservice mode: write the registration file for the homeserver
  matrix-sip-edge --help                    show this text
  matrix-sip-edge --version                 print the version

Options:
  -c, --config <file>   the YAML config file (default: $MSE_CONFIG, else ./config.yaml)
  -h, --help            show this text
  -v, --version         print the version
  --force               register: replace an existing registration (new tokens)

Secrets are read from the environment (MSE_ESL_PASSWORD, MSE_VERTO_PASSWORD,
MSE_MATRIX_ACCESS_TOKEN, MSE_MATRIX_PASSWORD, or the same names ending in
_FILE holding a file path), or from the config file (see config.example.yaml).

Exit status: 0 on success or clean shutdown, 1 when a check fails,
2 when the config or the command line is invalid.
`;

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly configPath: string }
  | { readonly kind: 'check'; readonly configPath: string }
  | { readonly kind: 'register'; readonly configPath: string; readonly force: boolean };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        force: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) return { kind: 'help' };
  if (parsed.values.version) return { kind: 'version' };
  const [verb = 'run', ...rest] = parsed.positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const configPath = parsed.values.config ?? env['MSE_CONFIG'] ?? 'config.yaml';
  if (parsed.values.force && verb !== 'register') throw new UsageError('--force belongs to the register command');
  if (verb === 'run' || verb === 'check') return { kind: verb, configPath };
  if (verb === 'register') return { kind: 'register', configPath, force: parsed.values.force ?? false };
  throw new UsageError(`unknown command: ${verb} (try --help)`);
}
