import type { Command } from 'commander';
import { ROLES, type Role } from '../db/schema.ts';
import { UserInputError } from '../modules/users/service.ts';
import { withContext } from './context.ts';
import { CliError } from './errors.ts';

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
  }
  return value as Role;
}

export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('Manage user accounts');

  users
    .command('create')
    .description('Create a user (use --role admin for the first admin)')
    .requiredOption('--username <name>')
    .requiredOption('--email <email>')
    .requiredOption('--password <password>', 'at least 10 characters')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'viewer')
    .option('--full-name <name>')
    .action(
      async (opts: {
        username: string;
        email: string;
        password: string;
        role: string;
        fullName?: string;
      }) => {
        const role = parseRole(opts.role);
        await withContext(async (ctx) => {
          const user = await ctx.users
            .create({
              username: opts.username,
              email: opts.email,
              password: opts.password,
              role,
              fullName: opts.fullName,
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
          console.log(`created ${user.role} ${user.username} (${user.id})`);
        });
      },
    );

  users
    .command('list')
    .description('List user accounts')
    .action(async () => {
      await withContext(async (ctx) => {
        const { items } = await ctx.users.list({ limit: 10_000, offset: 0 });
        for (const u of items) {
          console.log(
            `${u.id}  ${u.username.padEnd(24)} ${u.role.padEnd(9)} ${u.isActive ? 'active' : 'disabled'}  ${u.email}`,
          );
        }
      });
    });

  users
    .command('set-role')
    .description("Change a user's role")
    .argument('<username>')
    .argument('<role>')
    .action(async (username: string, roleName: string) => {
      const role = parseRole(roleName);
      await withContext(async (ctx) => {
        const user = await ctx.users.findByLogin(username);
        if (!user) throw new CliError(`no user ${username}`);
        await ctx.users.setRole(user.id, role);
        await ctx.audit.record({
          action: 'user.role_changed',
          actor: { name: 'cli' },
          targetType: 'user',
          targetId: user.id,
          details: { from: user.role, to: role },
        });
        console.log(`${user.username}: ${user.role} -> ${role}`);
      });
    });

  for (const [name, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    users
      .command(name)
      .description(`${active ? 'Enable' : 'Disable'} an account`)
      .argument('<username>')
      .action(async (username: string) => {
        await withContext(async (ctx) => {
          const user = await ctx.users.findByLogin(username);
          if (!user) throw new CliError(`no user ${username}`);
          await ctx.users.setActive(user.id, active);
          await ctx.audit.record({
            action: active ? 'user.enabled' : 'user.disabled',
            actor: { name: 'cli' },
            targetType: 'user',
            targetId: user.id,
          });
          console.log(`${user.username} ${active ? 'enabled' : 'disabled'}`);
        });
      });
  }
}
