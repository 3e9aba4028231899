// CLI commands that also run inside a running server, through its admin socket, when the embedded
// database is locked by that server. Each takes plain arguments and returns the lines to print.
import type { AppContext } from '../context.ts';
import { ROLES, type Role } from '../db/schema.ts';
import { UserInputError } from '../modules/users/service.ts';
import { CliError } from './errors.ts';

export function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
  }
  return value as Role;
}

export interface CreateUserArgs {
  username: string;
  email: string;
  password: string;
  role: string;
  fullName?: string;
}

async function createUser(ctx: AppContext, args: CreateUserArgs): Promise<string[]> {
  const role = parseRole(args.role);
  const user = await ctx.users
    .create({
      username: args.username,
      email: args.email,
      password: args.password,
      role,
      fullName: args.fullName,
    })
    .catch((err) => {
      if (err instanceof UserInputError) throw new CliError(`${err.field} ${err.message}`);
      throw err;
    });
  await ctx.audit.record({
    action: 'user.created',
    actor: { name: 'cli' },
    targetType: 'user',
    targetId: user.id,
    details: { role, username: user.username },
  });
  return [`created ${user.role} ${user.username} (${user.id})`];
}

async function listUsers(ctx: AppContext): Promise<string[]> {
  const { items } = await ctx.users.list({ limit: 10_000, offset: 0 });
  if (!items.length) return ['no users'];
  return table(
    ['username', 'role', 'state', 'email', 'id'],
    items.map((u) => [u.username, u.role, u.isActive ? 'active' : 'disabled', u.email, u.id]),
  );
}

function metric(metrics: Record<string, unknown>, name: 'accuracy' | 'macro_f1'): string {
  const val = metrics.val as Record<string, unknown> | undefined;
  const v = val?.[name] ?? metrics[name];
  return typeof v === 'number' ? v.toFixed(3) : '-';
}

async function listModels(ctx: AppContext, args: { all?: boolean }): Promise<string[]> {
  const [rows, aliases] = await Promise.all([
    ctx.registry.list({ includeArchived: args.all }),
    ctx.registry.aliases(),
  ]);
  if (!rows.length) return ['no models registered'];
  return table(
    ['name', 'version', 'state', 'aliases', 'accuracy', 'macro-F1', 'created'],
    rows.map((r) => [
      r.name,
      String(r.version),
      r.status,
      aliases
        .filter((a) => a.modelName === r.name && a.version === r.version)
        .map((a) => a.alias)
        .join(',') || '-',
      metric(r.metrics, 'accuracy'),
      metric(r.metrics, 'macro_f1'),
      r.createdAt.toISOString().slice(0, 16).replace('T', ' '),
    ]),
  );
}

/** Left-aligned columns under a header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export const ADMIN_COMMANDS = {
  'users.create': (ctx: AppContext, args: CreateUserArgs) => createUser(ctx, args),
  'users.list': (ctx: AppContext, _args: object) => listUsers(ctx),
  'models.list': (ctx: AppContext, args: { all?: boolean }) => listModels(ctx, args),
} as const;

export type AdminCommand = keyof typeof ADMIN_COMMANDS;

export function isAdminCommand(name: unknown): name is AdminCommand {
  return typeof name === 'string' && Object.hasOwn(ADMIN_COMMANDS, name);
}
