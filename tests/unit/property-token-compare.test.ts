/**
 * The token check takes one path whatever the input: both sides are hashed to 32 bytes and
 * compared once with crypto.timingSafeEqual, for equal and different lengths alike, and
 * `authorize` compares against both tokens on every attempt. (Timing itself cannot be
 * measured reliably in a test; the path that makes it constant can.)
 */
import crypto from 'node:crypto';
import fc from 'fast-check';
import { authorize, tokensEqual } from '../../functions/shared/use-cases/authorize';

describe('constant-time token comparison', () => {
  let spy: jest.SpyInstance;
  beforeEach(() => {
    spy = jest.spyOn(crypto, 'timingSafeEqual');
  });
  afterEach(() => spy.mockRestore());

  const sameLength = fc
    .integer({ min: 0, max: 64 })
    .chain((n) =>
      fc.tuple(fc.string({ minLength: n, maxLength: n }), fc.string({ minLength: n, maxLength: n })),
    );
  const anyPair = fc.tuple(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }));

  it.each([
    ['equal-length', sameLength],
    ['any-length', anyPair],
  ])('compares %s inputs through one timingSafeEqual of two 32-byte digests', (_what, pairs) => {
    fc.assert(
      fc.property(pairs, ([presented, expected]) => {
        spy.mockClear();

        const equal = tokensEqual(presented, expected);

        expect(equal).toBe(presented === expected);
        expect(spy).toHaveBeenCalledTimes(1);
        const [a, b] = spy.mock.calls[0] as [Buffer, Buffer];
        expect([a.length, b.length]).toEqual([32, 32]);
      }),
      { numRuns: 300 },
    );
  });

  it('compares against both tokens on every attempt, matched or not', () => {
    const tokens = { chatToken: 'user-token-0123456789', adminToken: 'admin-token-0123456789' };
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom(tokens.chatToken, tokens.adminToken)),
        (presented) => {
          spy.mockClear();

          authorize(tokens, presented);

          expect(spy).toHaveBeenCalledTimes(2);
        },
      ),
      { numRuns: 200 },
    );
  });
});
