/** The FailureCounter contract: failed attempts at the head event of a FIFO group. */
import { newRoom, type StoreSubject, type StoreWorld, T0 } from './subject';

export function describeFailureCounterContract(name: string, subject: StoreSubject): void {
  describe(`${name}: FailureCounter`, () => {
    let world: StoreWorld;
    let group: string;

    beforeEach(async () => {
      world = await subject.create(() => T0, 7);
      group = `room:${newRoom()}`;
    });

    it('counts the failures of one event: 1, 2, 3', async () => {
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) counts.push(await world.failures.recordFailure(group, 'e1'));

      expect(counts).toEqual([1, 2, 3]);
    });

    it("starts again at 1 when the group's head is another event", async () => {
      await world.failures.recordFailure(group, 'e1');
      await world.failures.recordFailure(group, 'e1');

      await expect(world.failures.recordFailure(group, 'e2')).resolves.toBe(1);
      await expect(world.failures.recordFailure(group, 'e2')).resolves.toBe(2);
    });

    it('counts each group apart', async () => {
      const other = `room:${newRoom()}`;
      await world.failures.recordFailure(group, 'e1');

      await expect(world.failures.recordFailure(other, 'e1')).resolves.toBe(1);
      await expect(world.failures.recordFailure(group, 'e1')).resolves.toBe(2);
    });
  });
}
