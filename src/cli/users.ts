import type { Command } from 'commander';
import { ROLES } from '../db/schema.ts';
import { parseRole } from './admin-commands.ts';
import { runAdminCommand, withContext } from './run-command.ts';
import { CliError } from './errors.ts';

export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('Manage user accounts');

  users
    .command('create')
    .description(
      'Create a user (use --role admin for the first admin); works while the server runs',
    )
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
        parseRole(opts.role);
        await runAdminCommand('users.create', opts);
      },
    );

  users
    .command('list')
    .description('List user accounts; works while the server runs')
    .action(() => runAdminCommand('users.list', {}));

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
