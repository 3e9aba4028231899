import { LRUCache } from 'lru-cache';
import type { Role } from '../../db/schema.ts';
import type { ApiKeyService } from '../api-keys/service.ts';
import type { UserService } from '../users/service.ts';
import type { AccessRevocations } from './revocations.ts';
import { type DeviceActor, DEVICE_KEY_PREFIX, type DeviceKeyVerifier } from './device.ts';
import { type AccessTokens, hashSecret, InvalidTokenError } from './tokens.ts';

export interface Principal {
  kind: 'user' | 'api_key' | 'device';
  /** The user id, the API key id, or the device id. */
  id: string;
  userId: string | null;
  apiKeyId: string | null;
  role: Role;
  name: string;
  /** Set for a device key: the device, its unit and farm. Devices reach device routes only. */
  device?: DeviceActor;
}

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(principal: Principal, minimum: Role): boolean {
  return ROLE_RANK[principal.role] >= ROLE_RANK[minimum];
}

/** The highest role an API key can act with (SECURITY.md: keys never carry admin). */
export const API_KEY_MAX_ROLE: Role = 'operator';

export function capApiKeyRole(role: Role): Role {
  return ROLE_RANK[role] > ROLE_RANK[API_KEY_MAX_ROLE] ? API_KEY_MAX_ROLE : role;
}

export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

interface CachedUser {
  role: Role;
  isActive: boolean;
  username: string;
}

export interface AuthenticatorDeps {
  tokens: AccessTokens;
  users: UserService;
  apiKeys: ApiKeyService;
  revocations: AccessRevocations;
  /** Device keys (farm sensors and cameras); without it only users and API keys sign in. */
  devices?: DeviceKeyVerifier;
  /** How long a user's role and status or an API key's principal is remembered. */
  cacheTtlMs?: number;
}

/**
 * Turns request credentials (a bearer access token or an X-API-Key) into a Principal.
 * The current role and status come from the database, cached for a few seconds so the hot path
 * does not pay a round trip per request; changes made in this process drop the cache at once.
 */
export class Authenticator {
  private readonly userCache: LRUCache<string, CachedUser>;
  private readonly keyCache: LRUCache<string, Principal | false>;

  private readonly tokens: AccessTokens;
  private readonly users: UserService;
  private readonly apiKeys: ApiKeyService;
  private readonly revocations: AccessRevocations;
  private readonly devices: DeviceKeyVerifier | undefined;

  constructor(deps: AuthenticatorDeps) {
    ({
      tokens: this.tokens,
      users: this.users,
      apiKeys: this.apiKeys,
      revocations: this.revocations,
      devices: this.devices,
    } = deps);
    const ttl = deps.cacheTtlMs ?? 10_000;
    this.userCache = new LRUCache({ max: 10_000, ttl });
    this.keyCache = new LRUCache({ max: 10_000, ttl });
    this.users.onChange((id) => this.userCache.delete(id));
  }

  forgetApiKeys(): void {
    this.keyCache.clear();
  }

  /** Resolves credentials; undefined when none were given; throws when they are wrong. */
  async authenticate(headers: {
    authorization?: string;
    'x-api-key'?: string | string[];
  }): Promise<Principal | undefined> {
    const apiKey = headers['x-api-key'];
    if (typeof apiKey === 'string' && apiKey) return this.fromApiKey(apiKey);
    const auth = headers.authorization;
    if (!auth) return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!match) throw new AuthenticationError('The Authorization header must be "Bearer <token>"');
    return this.fromAccessToken(match[1]!);
  }

  private async fromAccessToken(token: string): Promise<Principal> {
    let claims;
    try {
      claims = await this.tokens.verify(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new AuthenticationError(err.message);
      throw err;
    }
    if (await this.revocations.isRevoked(claims.sid)) {
      throw new AuthenticationError('The session has ended (signed out); sign in again');
    }
    let user = this.userCache.get(claims.sub);
    if (!user) {
      const row = await this.users.findById(claims.sub);
      if (!row) throw new AuthenticationError('The account no longer exists');
      user = { role: row.role, isActive: row.isActive, username: row.username };
      this.userCache.set(claims.sub, user);
    }
    if (!user.isActive) throw new AuthenticationError('The account is disabled');
    return {
      kind: 'user',
      id: claims.sub,
      userId: claims.sub,
      apiKeyId: null,
      role: user.role,
      name: user.username,
    };
  }

  private async fromApiKey(secret: string): Promise<Principal> {
    if (this.devices && secret.startsWith(DEVICE_KEY_PREFIX)) return this.fromDeviceKey(secret);
    const cacheKey = hashSecret(secret);
    let principal = this.keyCache.get(cacheKey);
    if (principal === undefined) {
      const row = await this.apiKeys.lookup(secret);
      principal = row
        ? {
            kind: 'api_key',
            id: row.id,
            userId: null,
            apiKeyId: row.id,
            role: capApiKeyRole(row.role),
            name: `key:${row.name}`,
          }
        : false;
      this.keyCache.set(cacheKey, principal);
    }
    if (!principal) throw new AuthenticationError('The API key is invalid, expired or revoked');
    void this.apiKeys.markUsed(principal.id).catch(() => {});
    return principal;
  }

  private async fromDeviceKey(secret: string): Promise<Principal> {
    const device = await this.devices!.authenticateDevice(secret);
    if (!device) throw new AuthenticationError('The device key is invalid, disabled or rotated');
    return {
      kind: 'device',
      id: device.deviceId,
      userId: null,
      apiKeyId: null,
      // The lowest role; the auth hook keeps devices to the routes declared for devices.
      role: 'viewer',
      name: `device:${device.name}`,
      device,
    };
  }
}
