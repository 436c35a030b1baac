/** The ConnectionRegistry contract: connection records and the broadcast's shard index. */
import { CONNECTION_SHARDS, shardOf } from '../../../functions/shared/adapters/dynamodb/table-layout';
import { collect, registerConnection, type StoreSubject, type StoreWorld, T0 } from './subject';

export function describeConnectionRegistryContract(name: string, subject: StoreSubject): void {
  describe(`${name}: ConnectionRegistry`, () => {
    let world: StoreWorld;

    beforeEach(async () => {
      world = await subject.create(() => T0, 7);
    });

    /** Every connection id of every shard, with how many times each was listed. */
    async function everyShard(): Promise<string[]> {
      const ids: string[] = [];
      for (let shard = 0; shard < world.registry.shards; shard++) {
        ids.push(...(await collect(world.registry.connectionsOfShard(shard))).items);
      }
      return ids;
    }

    it('returns a registered connection with its role, principal, connect time and display name', async () => {
      const connection = await registerConnection(world, 'roope', 'admin', 'Roope Ankka');

      await expect(world.registry.getConnection(connection.connectionId)).resolves.toEqual(connection);
    });

    it("keeps the signed-in user's sub (as principal) and display name with the connection", async () => {
      const connection = {
        connectionId: 'signed-in=',
        role: 'user' as const,
        principalId: '7d3c1c1e-0b1a-4f7e-9c55-2f1f4f1d9a10',
        connectedAt: 1_700_000,
        displayName: 'Mikki Hiiri',
      };
      await world.registry.putConnection(connection);

      await expect(world.registry.getConnection(connection.connectionId)).resolves.toEqual(connection);
    });

    it('returns a connection without a display name as it was put', async () => {
      const connection = await registerConnection(world, 'mikki');

      const found = await world.registry.getConnection(connection.connectionId);

      expect(found).toEqual(connection);
      expect(found).not.toHaveProperty('displayName');
    });

    it('returns undefined for a connection that was never registered', async () => {
      await expect(world.registry.getConnection('never-seen=')).resolves.toBeUndefined();
    });

    it('forgets a deleted connection, and deleting an unknown one is fine', async () => {
      const connection = await registerConnection(world, 'mikki');

      await world.registry.deleteConnection(connection.connectionId);
      await world.registry.deleteConnection('never-seen=');

      await expect(world.registry.getConnection(connection.connectionId)).resolves.toBeUndefined();
      expect(await everyShard()).not.toContain(connection.connectionId);
    });

    it(`has ${CONNECTION_SHARDS} shards`, () => {
      expect(world.registry.shards).toBe(CONNECTION_SHARDS);
    });

    it('lists every registered connection exactly once, in the shard shardOf names', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3 * CONNECTION_SHARDS; i++)
        ids.push((await registerConnection(world, `c${i}`)).connectionId);
      expect(new Set(ids.map((id) => shardOf(id))).size).toBeGreaterThan(1);

      expect((await everyShard()).sort()).toEqual([...ids].sort());
      for (const id of ids) {
        expect((await collect(world.registry.connectionsOfShard(shardOf(id)))).items).toContain(id);
      }
    });

    it('registers a connection once however often it is put', async () => {
      const connection = await registerConnection(world, 'aku');
      await world.registry.putConnection(connection);

      expect((await everyShard()).filter((id) => id === connection.connectionId)).toHaveLength(1);
    });
  });
}
