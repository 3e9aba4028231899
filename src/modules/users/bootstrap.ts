import { type AppConfig, ConfigError } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { AuditLog } from '../audit/service.ts';
import { UserInputError, type UserService } from './service.ts';

/** Creates the first admin from AQUAML_ADMIN_* when the database has no active admin yet. */
export async function ensureAdmin(
  config: AppConfig,
  users: UserService,
  audit: AuditLog,
  logger: Logger,
): Promise<void> {
  const { username, email, password } = config.admin;
  if (!username || !email || !password) return;
  if ((await users.countAdmins()) > 0) return;
  if (await users.findByLogin(username)) {
    logger.warn({ username }, 'AQUAML_ADMIN_USERNAME exists but is not an admin; not changing it');
    return;
  }
  const user = await users.create({ username, email, password, role: 'admin' }).catch((err) => {
    if (err instanceof UserInputError) {
      throw new ConfigError(`AQUAML_ADMIN_${err.field.toUpperCase()}`, err.message);
    }
    throw err;
  });
  await audit.record({
    action: 'user.created',
    actor: { name: 'bootstrap' },
    targetType: 'user',
    targetId: user.id,
    details: { role: 'admin', via: 'AQUAML_ADMIN_*' },
  });
  logger.info({ username }, 'created the first admin from AQUAML_ADMIN_*');
}
