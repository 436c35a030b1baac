import { connect } from '../../../functions/shared/use-cases/connect';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';

describe('connect', () => {
  it('registers the connection with its role and principal', async () => {
    const store = new InMemoryConnectionStore();
    const input = {
      connectionId: 'c1=',
      role: 'admin' as const,
      principalId: 'admin',
      connectedAt: 1_700_000,
    };

    await connect({ store }, input);

    await expect(store.getConnection('c1=')).resolves.toEqual(input);
  });

  it('passes a store failure through', async () => {
    const store = new InMemoryConnectionStore();
    const failure = new Error('DynamoDB down');
    store.failNext('putConnection', failure);

    await expect(
      connect({ store }, { connectionId: 'c1=', role: 'user', principalId: 'user', connectedAt: 1 }),
    ).rejects.toBe(failure);
  });
});
