import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { conflict, HttpError, unauthorized } from '../../http/errors.ts';
import { principalOf } from './plugin.ts';
import { errors } from '../../http/schemas.ts';
import { toPublicUser, UserInputError } from '../users/service.ts';
import { accountFields, PublicUserSchema } from '../users/schema.ts';
import { actorOf } from './actor.ts';
import { AuthFailedError } from './service.ts';

const TokenPairSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
  refresh_token: Type.String(),
});

/** Turns a user-data rule violation into 400 or 409 naming the field. */
export function userInputToHttp(err: unknown): never {
  if (err instanceof UserInputError) {
    if (err.kind === 'conflict') throw conflict(`${err.field} ${err.message}`, err.field);
    throw new HttpError(400, 'Bad Request', `${err.field} ${err.message}`, {
      errors: [{ field: `body.${err.field}`, message: err.message }],
    });
  }
  throw err;
}

export const authRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  // Brute-force protection on the unauthenticated endpoints: per client address.
  const strict = { max: 20, timeWindow: 60_000 };

  app.post(
    '/register',
    {
      config: { auth: 'public', rateLimit: strict },
      schema: {
        tags: ['auth'],
        summary: 'Create an account (role viewer)',
        body: Type.Object(accountFields, { additionalProperties: false }),
        response: { 201: PublicUserSchema, ...errors(400, 409, 429) },
      },
    },
    async (request, reply) => {
      const { email, username, password, full_name } = request.body;
      const user = await ctx.users
        .create({ email, username, password, fullName: full_name ?? null, role: 'viewer' })
        .catch(userInputToHttp);
      await ctx.audit.record({
        action: 'auth.register',
        actor: { ...actorOf(request), userId: user.id, name: user.username },
        targetType: 'user',
        targetId: user.id,
      });
      return reply.code(201).send(toPublicUser(user));
    },
  );

  app.post(
    '/login',
    {
      config: { auth: 'public', rateLimit: strict },
      schema: {
        tags: ['auth'],
        summary: 'Exchange username (or email) and password for tokens',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 254 }),
            password: Type.String({ maxLength: 256 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: TokenPairSchema, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      try {
        return await ctx.auth.login(request.body.username, request.body.password, actorOf(request));
      } catch (err) {
        if (err instanceof AuthFailedError) throw unauthorized(err.message);
        throw err;
      }
    },
  );

  app.post(
    '/refresh',
    {
      config: { auth: 'public', rateLimit: strict },
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token; reusing an old one revokes the whole session',
        body: Type.Object(
          { refresh_token: Type.String({ minLength: 1, maxLength: 512 }) },
          {
            additionalProperties: false,
          },
        ),
        response: { 200: TokenPairSchema, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      try {
        return await ctx.auth.refresh(request.body.refresh_token, actorOf(request));
      } catch (err) {
        if (err instanceof AuthFailedError) throw unauthorized(err.message);
        throw err;
      }
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the session of a refresh token, or all sessions when none is given',
        body: Type.Optional(
          Type.Object(
            { refresh_token: Type.Optional(Type.String({ maxLength: 512 })) },
            {
              additionalProperties: false,
            },
          ),
        ),
        response: { 204: Type.Null(), ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!principal.userId) throw unauthorized('API keys have no session to end');
      await ctx.auth.logout(principal.userId, request.body?.refresh_token, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user',
        response: { 200: PublicUserSchema, ...errors(401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (!principal.userId) throw unauthorized('This endpoint needs a user token, not an API key');
      const user = await ctx.users.findById(principal.userId);
      if (!user) throw unauthorized('The account no longer exists');
      return toPublicUser(user);
    },
  );
};
