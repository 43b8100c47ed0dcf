import fc from 'fast-check';
import { FAULT_KINDS, FAULTABLE_FUNCTIONS, type Fault } from './faults';

/** Schedules of up to five faults on the first few invocations of any task. */
export const faultSchedule: fc.Arbitrary<Fault[]> = fc.array(
  fc.record({
    fn: fc.constantFrom(...FAULTABLE_FUNCTIONS),
    call: fc.integer({ min: 0, max: 3 }),
    kind: fc.constantFrom(...FAULT_KINDS),
  }),
  { maxLength: 5 },
);
