import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  imageLabel,
  isDigest,
  rolloutIdFor,
  TERMINAL_STATUSES,
  tagMatches,
} from '../../functions/core/rollout';
import { IMAGE_DIGEST, REPOSITORY, ROLLOUT_ID, SERVICE } from '../helpers/config';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const service = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);
/** Step Functions execution names: 1–80 characters of A-Z a-z 0-9 - _. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

describe('rolloutIdFor', () => {
  it('is <service>-<first 16 hex of the digest>', () => {
    // Act
    const id = rolloutIdFor(SERVICE, IMAGE_DIGEST);

    // Assess
    expect(id).toBe(ROLLOUT_ID);
    expect(id).toBe('web-faec26f150531ab9');
  });

  it('is a valid execution name of at most 80 characters for any service and digest', () => {
    fc.assert(
      fc.property(service, hex64, (s, hex) => {
        const id = rolloutIdFor(s, `sha256:${hex}`);
        expect(id).toMatch(EXECUTION_NAME);
        expect(id.length).toBeLessThanOrEqual(80);
        expect(id).toBe(`${s}-${hex.slice(0, 16)}`);
      }),
    );
  });

  it('is the same for the same image (a repeated event names the same execution)', () => {
    fc.assert(
      fc.property(service, hex64, (s, hex) => {
        expect(rolloutIdFor(s, `sha256:${hex}`)).toBe(rolloutIdFor(s, `sha256:${hex}`));
      }),
    );
  });

  it('differs between services for the same image', () => {
    expect(rolloutIdFor('web', IMAGE_DIGEST)).not.toBe(rolloutIdFor('api', IMAGE_DIGEST));
  });

  it.each([
    ['a tag', 'v1.4.2'],
    ['a bare hex digest', 'faec26f150531ab99f6b60312b93c35c7f8e64921be8502f4ade927074440c0a'],
    ['a short digest', 'sha256:faec26f150531ab9'],
    ['a digest too long', `${IMAGE_DIGEST}0`],
    ['an uppercase digest', IMAGE_DIGEST.toUpperCase().replace('SHA256', 'sha256')],
    ['another algorithm', `sha512:${'a'.repeat(128)}`],
    ['an empty string', ''],
  ])('rejects %s', (_, digest) => {
    // Act
    const act = () => rolloutIdFor(SERVICE, digest);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow(/not an image digest/);
  });
});

describe('isDigest', () => {
  it('accepts sha256:<64 lowercase hex> only', () => {
    expect(isDigest(IMAGE_DIGEST)).toBe(true);
    expect(isDigest('latest')).toBe(false);
    expect(isDigest(`${IMAGE_DIGEST} `)).toBe(false);
    expect(isDigest(IMAGE_DIGEST.replace('sha256:', ''))).toBe(false);
  });
});

describe('tagMatches', () => {
  describe('without a pattern', () => {
    it.each(['v1.4.2', 'latest', 'anything.at_all-1'])('matches %s', (tag) => {
      expect(tagMatches(undefined, tag)).toBe(true);
    });

    it('matches an untagged image', () => {
      expect(tagMatches(undefined, undefined)).toBe(true);
    });
  });

  describe('with a pattern', () => {
    it('does not match an untagged image', () => {
      expect(tagMatches('v*', undefined)).toBe(false);
      expect(tagMatches('*', undefined)).toBe(false);
    });

    it.each([
      ['v*', 'v1.4.2', true],
      ['v*', 'v', true],
      ['v*', 'release-1', false],
      ['v*', 'xv1', false],
      ['release-?', 'release-1', true],
      ['release-?', 'release-10', false],
      ['release-?', 'release-', false],
      ['release-*', 'release-2025.03.14', true],
      ['*-rc?', '1.2.0-rc1', true],
      ['*-rc?', '1.2.0-rc10', false],
      ['latest', 'latest', true],
      ['latest', 'latest2', false],
      ['latest', 'Latest', false],
      ['*', 'anything', true],
    ])('%s against %s → %s', (pattern, tag, expected) => {
      expect(tagMatches(pattern, tag)).toBe(expected);
    });
  });

  describe('regular-expression characters in the pattern are literal', () => {
    it.each([
      ['v1.2', 'v1.2', true],
      ['v1.2', 'v1x2', false],
      ['1+1', '1+1', true],
      ['1+1', '11', false],
      ['(a|b)', '(a|b)', true],
      ['(a|b)', 'a', false],
      ['[ab]', '[ab]', true],
      ['[ab]', 'a', false],
      ['^v$', '^v$', true],
      ['^v$', 'v', false],
      ['a{2}', 'a{2}', true],
      ['a{2}', 'aa', false],
      ['a\\d', 'a\\d', true],
      ['a\\d', 'a1', false],
      ['v.*', 'v.1', true],
      ['v.*', 'vx1', false],
    ])('%s against %s → %s', (pattern, tag, expected) => {
      expect(tagMatches(pattern, tag)).toBe(expected);
    });

    it('never throws and matches a pattern without wildcards only to itself', () => {
      fc.assert(
        fc.property(
          fc.string({ maxLength: 20 }).filter((s) => !/[*?]/.test(s)),
          fc.string({ maxLength: 20 }),
          (p, t) => {
            expect(tagMatches(p, p)).toBe(true);
            expect(tagMatches(p, t)).toBe(p === t);
          },
        ),
      );
    });
  });
});

describe('imageLabel', () => {
  it('is repository:tag for a tagged image', () => {
    expect(imageLabel({ repository: REPOSITORY, digest: IMAGE_DIGEST, tag: 'v1.4.2' })).toBe(
      'acme/web:v1.4.2',
    );
  });

  it('is repository:<short digest> for an untagged image', () => {
    // Act
    const label = imageLabel({ repository: REPOSITORY, digest: IMAGE_DIGEST });

    // Assess
    expect(label).toBe('acme/web:sha256:faec26f15053');
  });
});

describe('TERMINAL_STATUSES', () => {
  it('holds the statuses a rollout never leaves', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(['promoted', 'rollbackFailed', 'rolledBack']);
  });
});
