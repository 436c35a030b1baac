import fc from 'fast-check';
import { fromIdOf } from '../../../functions/shared/domain/identity';

describe('fromIdOf', () => {
  it('is stable: the same sign-in gives the same sender id on every connection', () => {
    expect(fromIdOf({ sub: 'user-1' }, 'conn-a=')).toBe(fromIdOf({ sub: 'user-1' }, 'conn-b='));
  });

  it('tells two signed-in users apart', () => {
    expect(fromIdOf({ sub: 'user-1' }, 'conn-a=')).not.toBe(fromIdOf({ sub: 'user-2' }, 'conn-a='));
  });

  it('tells connections apart without a sign-in (token mode), and keeps each stable', () => {
    expect(fromIdOf({}, 'conn-a=')).not.toBe(fromIdOf({}, 'conn-b='));
    expect(fromIdOf({}, 'conn-a=')).toBe(fromIdOf({ sub: undefined }, 'conn-a='));
  });

  it('never gives a user the id of a connection whose id is that user', () => {
    expect(fromIdOf({ sub: 'same' }, 'x=')).not.toBe(fromIdOf({}, 'same'));
  });

  it('is 22 URL-safe characters, and never contains the sub or its base64', () => {
    const sub = fc.oneof(fc.uuid(), fc.emailAddress(), fc.string({ minLength: 8, maxLength: 64 }));
    fc.assert(
      fc.property(sub, fc.string({ maxLength: 64 }), (value, connectionId) => {
        const id = fromIdOf({ sub: value }, connectionId);

        expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(id).not.toContain(value);
        expect(id).not.toContain(Buffer.from(value).toString('base64url').slice(0, 10));
      }),
      { numRuns: 500 },
    );
  });
});
