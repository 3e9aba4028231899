import pg from 'pg';
import type { Lease } from './types.ts';

/**
 * A lease as a PostgreSQL session advisory lock on a connection of its own: the server releases
 * it when that session ends, so a holder that died (or lost its connection) frees it by itself.
 * There is no time to live here; renewing checks that the session is still alive.
 */
export class PostgresLease implements Lease {
  readonly kind = 'postgres';
  private client: pg.Client | undefined;
  private held = false;

  constructor(
    private readonly url: string,
    private readonly name: string,
  ) {}

  async acquire(): Promise<boolean> {
    if (this.held) return this.renew();
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
      [this.name],
    );
    this.held = rows[0]?.ok === true;
    return this.held;
  }

  async renew(): Promise<boolean> {
    if (!this.held || !this.client) return false;
    try {
      await this.client.query('SELECT 1');
      return true;
    } catch (err) {
      // The session (and with it the lock) is gone.
      this.drop();
      throw err;
    }
  }

  async release(): Promise<void> {
    if (!this.held || !this.client) return;
    this.held = false;
    await this.client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.name]);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    await client?.end().catch(() => {});
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
    // A dead connection surfaces through the next query; the 'error' event alone must not crash.
    client.on('error', () => this.drop());
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    void client?.end().catch(() => {});
  }
}
