import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Role } from '../../db/schema.ts';

export interface AccessClaims {
  sub: string;
  role: Role;
  username: string;
  /** The session (refresh-token family) the token belongs to, so logout can revoke it. */
  sid?: string;
}

export class InvalidTokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(reason === 'expired' ? 'The access token has expired' : 'The access token is invalid');
    this.name = 'InvalidTokenError';
  }
}

/** Signs and checks short-lived HS256 access tokens. */
export class AccessTokens {
  private readonly key: Uint8Array;
  /**
   * Tokens whose signature was already checked, with their expiry: a client sends the same token
   * with every request, and HMAC verification through WebCrypto costs more than the rest of a
   * cached authentication. The key is the whole signed token, so a hit is as good as a check.
   */
  private readonly verified = new LRUCache<string, { claims: AccessClaims; expMs: number }>({
    max: 10_000,
  });

  constructor(
    secret: string,
    private readonly issuer: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({
      role: claims.role,
      username: claims.username,
      typ: 'access',
      ...(claims.sid ? { sid: claims.sid } : {}),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.issuer)
      .setIssuedAt()
      .setJti(randomBytes(12).toString('base64url'))
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      if (Date.now() < known.expMs) return known.claims;
      this.verified.delete(token);
      throw new InvalidTokenError('expired');
    }
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: this.issuer,
        algorithms: ['HS256'],
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string') {
        throw new InvalidTokenError('invalid');
      }
      const claims: AccessClaims = {
        sub: payload.sub,
        role: payload.role as Role,
        username: String(payload.username ?? ''),
        ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}),
      };
      if (typeof payload.exp === 'number')
        this.verified.set(token, { claims, expMs: payload.exp * 1000 });
      return claims;
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError('expired');
      throw new InvalidTokenError('invalid');
    }
  }
}

/** Opaque secrets (refresh tokens, API keys) are random; only their SHA-256 is stored. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
