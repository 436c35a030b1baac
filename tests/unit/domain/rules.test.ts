import fc from 'fast-check';
import {
  isSingleScript,
  MAX_NICKNAME_KEY_BYTES,
  MAX_NICKNAME_LENGTH,
  nicknameKey,
  nicknameProblem,
  utf8Bytes,
} from '../../../functions/shared/domain/rules';

describe('nicknameProblem', () => {
  it.each([
    ['a Cyrillic М among Latin letters', '\u041Cikki', 'nickname must not mix letters of different scripts'],
    [
      'Cyrillic і among Latin letters',
      'M\u0456kk\u0456',
      'nickname must not mix letters of different scripts',
    ],
    ['a combining grapheme joiner (U+034F)', 'Mikki\u034F', 'nickname must not contain invisible characters'],
    ['a variation selector (U+FE0F)', 'Mikki\uFE0F', 'nickname must not contain invisible characters'],
    ['a Hangul filler (U+3164)', 'Mikki\u3164', 'nickname must not contain invisible characters'],
    ['only Hangul fillers', '\u3164\u3164', 'nickname must not contain invisible characters'],
    ['a half-width Hangul filler (U+FFA0)', 'Mikki\uFFA0', 'nickname must not contain invisible characters'],
    ['a zero-width space', 'Mik\u200Bki', 'nickname must not contain invisible characters'],
    ['a right-to-left override', '\u202EikkiM', 'nickname must not contain invisible characters'],
    ['32 ligatures whose key grows past its limit (U+FDFA)', '\uFDFA'.repeat(32), 'nickname is too long'],
    [
      '33 characters',
      'a'.repeat(MAX_NICKNAME_LENGTH + 1),
      `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`,
    ],
    ['no characters', '', `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`],
    ['an emoji', 'Mikki 🐭', "nickname may contain letters, digits, single spaces and _ . ' - only"],
    ['two spaces', 'Mikki  Hiiri', "nickname may contain letters, digits, single spaces and _ . ' - only"],
  ])('refuses a nickname with %s', (_what, nickname, reason) => {
    expect(nicknameProblem(nickname)).toBe(reason);
  });

  it.each([
    ['all Cyrillic', '\u041C\u0456\u043A\u0456'],
    ['Han with Latin (one CJK writing system)', '山田Taro'],
    ['Hiragana, Katakana and Han (Japanese)', 'やまだ タロウ 山田'],
    ['Hangul with Latin (Korean)', '김 Kim'],
    ['ß', 'Straße'],
    ['an apostrophe', "O'Brien"],
    ['Greek', 'Σοφός'],
    ['Latin with digits and punctuation', 'Aku_313.-'],
    [`${MAX_NICKNAME_LENGTH} characters`, 'a'.repeat(MAX_NICKNAME_LENGTH)],
  ])('accepts a nickname that is %s', (_what, nickname) => {
    expect(nicknameProblem(nickname)).toBeUndefined();
  });

  it('counts characters, not UTF-16 code units', () => {
    expect('𝒜'.repeat(MAX_NICKNAME_LENGTH)).toHaveLength(2 * MAX_NICKNAME_LENGTH);
    expect(nicknameProblem('𝒜'.repeat(MAX_NICKNAME_LENGTH))).toBeUndefined();
  });
});

describe('isSingleScript', () => {
  it.each([
    ['Latin', 'Mikki', true],
    ['Cyrillic', 'Микки', true],
    ['Latin with Cyrillic', 'Mикки', false],
    ['Greek with Latin', 'Σofia', false],
    ['Han with Hangul and Latin (Korean)', '金 김 Kim', true],
    ['Hiragana with Hangul (two CJK systems)', 'やま 김', false],
    ['digits and punctuation only', "42_.'-", true],
  ])('%s → %p', (_what, text, single) => {
    expect(isSingleScript(text)).toBe(single);
  });
});

describe('nicknameKey', () => {
  it.each([
    ['case', 'MIKKI', 'mikki'],
    ['width', 'Ｍｉｋｋｉ', 'Mikki'],
    ['composition', 'R\u00e9mi', 'Re\u0301mi'],
    ['ß and SS (full case folding)', 'STRASSE', 'straße'],
    ['ẞ (capital sharp s) and ß', 'STRAẞE', 'Straße'],
    ['final and medial sigma', 'ΣΟΦΟΣ', 'σοφος'],
    ['a ligature', 'ﬀ', 'FF'],
  ])('is the same for nicknames that differ only in %s', (_what, a, b) => {
    expect(nicknameKey(a)).toBe(nicknameKey(b));
  });

  it('differs for different nicknames', () => {
    expect(nicknameKey('Mikki')).not.toBe(nicknameKey('Mikko'));
  });

  it('is idempotent: a key is its own key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        const key = nicknameKey(text);
        expect(nicknameKey(key)).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });

  it(`keeps every accepted nickname's key within ${MAX_NICKNAME_KEY_BYTES} bytes`, () => {
    // Characters that grow under NFKC and case folding, and some that do not.
    const pool = ['ß', 'ﬃ', '\uFDFA', 'ǰ', 'ΐ', 'İ', 'ŉ', '㍱', 'ﷺ', 'a', 'Ä', 'д', '山', ' ', "'", '3'];
    const nickname = fc
      .array(fc.constantFrom(...pool), { minLength: 1, maxLength: MAX_NICKNAME_LENGTH })
      .map((chars) => chars.join('').normalize('NFC'));
    fc.assert(
      fc.property(nickname, (name) => {
        if (nicknameProblem(name) === undefined) {
          expect(utf8Bytes(nicknameKey(name))).toBeLessThanOrEqual(MAX_NICKNAME_KEY_BYTES);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('utf8Bytes', () => {
  it('counts bytes of UTF-8, not UTF-16 code units', () => {
    expect(utf8Bytes('a')).toBe(1);
    expect(utf8Bytes('ä')).toBe(2);
    expect(utf8Bytes('€')).toBe(3);
    expect(utf8Bytes('🐭')).toBe(4);
  });
});
