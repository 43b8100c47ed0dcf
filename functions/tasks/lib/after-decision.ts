/**
 * The store writes that follow a decision Step Functions has taken (SendTaskSuccess / SendTaskFailure succeeded):
 * clearing the wait, the history entry. The decision stands whatever they do, so each is tried a few times and one
 * that still fails is handed to `onFailure` and named in the result, for the caller to say that the record may
 * lag, never that nothing was decided.
 */
import type { Clock } from '../../ports';

/** Tries per write, waiting 200 ms, then 400 ms between them. */
const RECORD_ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

export async function writeAfterDecision(
  clock: Clock,
  writes: Record<string, () => Promise<unknown>>,
  onFailure: (write: string, error: unknown) => void,
): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, write] of Object.entries(writes)) {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        break;
      } catch (error) {
        if (attempt < RECORD_ATTEMPTS) {
          await clock.sleep(RETRY_DELAY_MS * attempt);
          continue;
        }
        failed.push(name);
        onFailure(name, error);
        break;
      }
    }
  }
  return failed;
}
