import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FREE_TEXT_MAX_LENGTH, freeText } from '../../functions/core/text';

const ESC = '\x1b';

describe('freeText: a person’s reason made safe for terminals, pages and notifications', () => {
  it.each([
    ['a colour (CSI SGR)', `${ESC}[31mred${ESC}[0m alert`, 'red alert'],
    ['cursor movement and erase', `ok${ESC}[2K${ESC}[1A${ESC}[?25l done`, 'ok done'],
    ['8-bit CSI (U+009B)', '\u009b31mred\u009b0m', 'red'],
    ['a window title (OSC, BEL)', `${ESC}]0;pwned\x07title`, 'title'],
    ['a hyperlink (OSC 8, ST)', `${ESC}]8;;https://evil.example${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['an unterminated OSC hides the rest', `before ${ESC}]52;c;ZXZpbA==`, 'before'],
    ['DCS, PM and APC strings', `a${ESC}Pq#0${ESC}\\b${ESC}^pm${ESC}\\c${ESC}_apc${ESC}\\d`, 'abcd'],
    ['8-bit OSC with ST', 'x\u009d0;t\u009cy', 'xy'],
    ['other escapes (charset, keypad)', `${ESC}(0q${ESC}=${ESC}c`, 'q'],
    ['C0 controls, DEL, C1 controls', 'a\x00b\x07c\bd\x7fe\u0085f\r\ng\th', 'a b c d e f g h'],
    ['bidirectional overrides and separators', 'abc\u202edcba\u2066x\u2069\u2028y', 'abc dcba x y'],
  ])('%s', (_, input, expected) => {
    expect(freeText(input)).toBe(expected);
  });

  it('keeps letters of any script and punctuation', () => {
    expect(freeText('  déploiement refusé: 延迟 p99 — “trop lent”  ')).toBe(
      'déploiement refusé: 延迟 p99 — “trop lent”',
    );
  });

  it('cuts at the limit in code points, never inside a surrogate pair', () => {
    expect(freeText('é'.repeat(FREE_TEXT_MAX_LENGTH + 10))).toHaveLength(FREE_TEXT_MAX_LENGTH);
    const emoji = freeText('😀'.repeat(10), 3);
    expect(Array.from(emoji)).toEqual(['😀', '😀', '😀']);
  });

  it('never leaves a control character, whatever the input (property)', () => {
    const chars = fc.constantFrom(
      ESC,
      '\u009b',
      '\u009d',
      '\u009c',
      '\x07',
      '[',
      ']',
      '\\',
      'P',
      'm',
      ';',
      '0',
      'a',
      ' ',
      '\u202e',
      '\u2028',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 60 }), (parts) => {
        const out = freeText(parts.join(''));
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
        expect(out).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
        expect(out).toBe(out.trim());
        expect(freeText(out)).toBe(out);
      }),
      { numRuns: 2000, seed: 20261129 },
    );
  });
});
