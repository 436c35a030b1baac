import { connect } from '../../../functions/shared/use-cases/connect';
import { inMemoryChat } from '../../support/in-memory';

describe('connect', () => {
  it('registers the connection with its role, principal, connect time and display name', async () => {
    const { registry } = inMemoryChat();
    const input = {
      connectionId: 'c1=',
      role: 'admin' as const,
      principalId: 'sub-123',
      connectedAt: 1_700_000,
      displayName: 'Roope',
    };

    await connect({ registry }, input);

    await expect(registry.getConnection('c1=')).resolves.toEqual(input);
  });

  it('passes a store failure through', async () => {
    const { registry } = inMemoryChat();
    const failure = new Error('DynamoDB down');
    registry.failNext('putConnection', failure);

    await expect(
      connect({ registry }, { connectionId: 'c1=', role: 'user', principalId: 'user', connectedAt: 1 }),
    ).rejects.toBe(failure);
  });
});
