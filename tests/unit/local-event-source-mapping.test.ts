/**
 * The local stack refuses what Lambda refuses when it creates the SQS event source mapping: a
 * queue whose visibility timeout is shorter than the function's timeout (a batch still running
 * would be received again, and a room's records handled twice at once).
 */
import { checkVisibilityTimeouts } from '../../local/stack';
import { loadTemplateModel } from '../../local/template/template-model';

const model = loadTemplateModel(undefined, { ChatAuthToken: 'x'.repeat(16) });
const [trigger] = model.sqsTriggers;

describe("the local event source mapping's visibility rule", () => {
  it('holds for the template as written (visibility six times the fanout timeout)', () => {
    expect(trigger).toBeDefined();
    expect(() => checkVisibilityTimeouts(model, {})).not.toThrow();
  });

  it('refuses a visibility timeout shorter than the function timeout, as Lambda does', () => {
    expect(() => checkVisibilityTimeouts(model, { visibilityTimeoutSeconds: 1 })).toThrow(
      /Queue visibility timeout: 1 seconds is less than Function timeout: 30 seconds/,
    );
    expect(() =>
      checkVisibilityTimeouts(model, {
        visibilityTimeoutSeconds: 4,
        functionTimeouts: { [trigger?.functionId ?? '']: 5 },
      }),
    ).toThrow(/4 seconds is less than Function timeout: 5 seconds/);
  });

  it('accepts a shortened function timeout at or under the visibility timeout', () => {
    expect(() =>
      checkVisibilityTimeouts(model, {
        visibilityTimeoutSeconds: 3,
        functionTimeouts: { [trigger?.functionId ?? '']: 3 },
      }),
    ).not.toThrow();
  });
});
