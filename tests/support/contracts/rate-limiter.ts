/** The RateLimiter contract: fixed windows per connection and bucket, exact under concurrency. */
import { ConnectionNotFoundError } from '../../../functions/shared/domain/errors';
import type { RateRule } from '../../../functions/shared/ports';
import { registerConnection, type StoreSubject, type StoreWorld, T0 } from './subject';

export function describeRateLimiterContract(name: string, subject: StoreSubject): void {
  describe(`${name}: RateLimiter`, () => {
    let world: StoreWorld;
    const rule: RateRule = { limit: 3, windowSeconds: 10 };
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

    beforeEach(async () => {
      world = await subject.create(() => T0, 7);
    });

    it('grants `limit` actions per window and refuses the next', async () => {
      const { connectionId } = await registerConnection(world, 'chatty');

      const granted: boolean[] = [];
      for (let i = 0; i < 4; i++) granted.push(await world.limiter.take(connectionId, 'send', rule, at(i)));

      expect(granted).toEqual([true, true, true, false]);
    });

    it('grants again once the window has passed', async () => {
      const { connectionId } = await registerConnection(world, 'chatty');
      for (let i = 0; i < 3; i++) await world.limiter.take(connectionId, 'send', rule, at(1));

      await expect(world.limiter.take(connectionId, 'send', rule, at(10))).resolves.toBe(true);
    });

    it('counts each connection apart', async () => {
      const a = await registerConnection(world, 'a');
      const b = await registerConnection(world, 'b');
      const one: RateRule = { limit: 1, windowSeconds: 10 };
      await world.limiter.take(a.connectionId, 'send', one, at(0));

      await expect(world.limiter.take(b.connectionId, 'send', one, at(0))).resolves.toBe(true);
      await expect(world.limiter.take(a.connectionId, 'send', one, at(0))).resolves.toBe(false);
    });

    it('counts messages and room actions apart', async () => {
      const { connectionId } = await registerConnection(world, 'both');
      const one: RateRule = { limit: 1, windowSeconds: 10 };
      await world.limiter.take(connectionId, 'send', one, at(0));

      await expect(world.limiter.take(connectionId, 'control', one, at(0))).resolves.toBe(true);
      await expect(world.limiter.take(connectionId, 'control', one, at(1))).resolves.toBe(false);
      await expect(world.limiter.take(connectionId, 'send', one, at(1))).resolves.toBe(false);
    });

    it('grants exactly `limit` actions to concurrent requests', async () => {
      const { connectionId } = await registerConnection(world, 'burst');

      const granted = await Promise.all(
        Array.from({ length: 8 }, () =>
          world.limiter.take(connectionId, 'send', { limit: 5, windowSeconds: 10 }, at(2)),
        ),
      );

      expect(granted.filter(Boolean)).toHaveLength(5);
    });

    it('answers a connection that is not registered with ConnectionNotFoundError, not a refusal', async () => {
      await expect(world.limiter.take('nobody=', 'control', rule, at(0))).rejects.toBeInstanceOf(
        ConnectionNotFoundError,
      );
    });

    it('answers a connection removed after it used its allowance with ConnectionNotFoundError', async () => {
      const { connectionId } = await registerConnection(world, 'gone');
      for (let i = 0; i < 3; i++) await world.limiter.take(connectionId, 'send', rule, at(0));
      await world.registry.deleteConnection(connectionId);

      await expect(world.limiter.take(connectionId, 'send', rule, at(0))).rejects.toBeInstanceOf(
        ConnectionNotFoundError,
      );
    });
  });
}
