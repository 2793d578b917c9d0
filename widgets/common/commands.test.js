import { describe, expect, it } from 'vitest';
import { invalidPayload, positiveInteger } from './commands.js';

describe('command payloads', () => {
  it('takes ids as numbers or text', () => {
    expect(positiveInteger(7)).toBe(7);
    expect(positiveInteger('12')).toBe(12);
  });

  it('refuses anything else with invalid_payload', () => {
    for (const value of [0, -1, 1.5, 'x', null, undefined, {}]) {
      expect(() => positiveInteger(value, 'plan')).toThrow('plan must be a positive integer');
    }
    try {
      positiveInteger('', 'id');
    } catch (error) {
      expect(error.code).toBe('invalid_payload');
    }
    expect(invalidPayload('bad').code).toBe('invalid_payload');
  });
});
