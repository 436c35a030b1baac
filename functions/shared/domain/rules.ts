/**
 * Limits and naming rules of the chat protocol (documented in docs/protocol.md). No Node
 * APIs: the web page bundles this module to check input exactly as the server will.
 */
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_NICKNAME_LENGTH = 32;
/** A nickname's uniqueness key (NFKC, case-folded) may grow; it is capped so keys stay small. */
export const MAX_NICKNAME_KEY_BYTES = 128;
export const MAX_ROOM_ID_LENGTH = 64;
/** `entered` lists at most this many nicknames (and at most MAX_EVENT_BYTES in all). */
export const MAX_LISTED_MEMBERS = 500;
/**
 * Every event the server sends fits one WebSocket frame: API Gateway allows 32 KB per frame
 * (128 KB per message). `entered` and `history` are sized by bytes against this, with room
 * for their own fields.
 */
export const MAX_EVENT_BYTES = 32 * 1024 - 1024;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;

/** Room ids are ASCII so they can be used verbatim as SQS FIFO MessageGroupIds. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Nicknames: letters, combining marks, digits and `_ . ' -`, single spaces between words.
 * No control, format (bidi overrides, zero-width) or other invisible characters.
 */
export const NICKNAME_PATTERN = /^[\p{L}\p{M}\p{N}_.'-]+(?: [\p{L}\p{M}\p{N}_.'-]+)*$/u;

/**
 * Characters that render as nothing: default-ignorable code points (the combining grapheme
 * joiner, variation selectors, …) and the Hangul fillers, which are letters by category.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u115F\u1160\u3164\uFFA0]/u;

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Case- and normalisation-insensitive key used to keep nicknames unique within a room: NFKC,
 * then full case folding (lower, upper, lower folds ẞ/ß/SS, ς/σ, ﬀ/ff alike; upper then lower
 * alone keys ẞ as ß but ß as ss), then NFKC again. A key is its own key.
 */
export function nicknameKey(nickname: string): string {
  return nickname.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * Scripts a nickname's letters may come from. A nickname uses one of them (plus digits and
 * punctuation), or Latin with the scripts of one CJK writing system (UTS #39 "highly
 * restrictive"): `Мikki` (Cyrillic М) and `Mіkkі` (Cyrillic і) are refused, `Мікі` is fine.
 */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Nko',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Canadian_Aboriginal',
  'Ogham',
  'Runic',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
  'Yi',
  'Coptic',
  'Tifinagh',
  'Vai',
  'Lisu',
  'Bamum',
  'Javanese',
  'Cham',
  'Tai_Viet',
  'Balinese',
  'Sundanese',
  'Lepcha',
  'Ol_Chiki',
  'Glagolitic',
  'Gothic',
  'Deseret',
  'Osage',
  'Adlam',
  'Tai_Le',
  'New_Tai_Lue',
  'Buginese',
  'Tagalog',
  'Hanunoo',
  'Buhid',
  'Tagbanwa',
  'Limbu',
  'Syloti_Nagri',
  'Saurashtra',
  'Kayah_Li',
  'Rejang',
  'Meetei_Mayek',
] as const;
const SCRIPT_TESTS = SCRIPTS.map(
  (name) => [name, new RegExp(`\\p{Script_Extensions=${name}}`, 'u')] as const,
);
/** Writing systems that mix scripts by nature (UTS #39's Jpan, Kore, Hanb). */
const CJK: Record<string, readonly string[]> = {
  Han: ['Jpan', 'Kore', 'Hanb'],
  Hiragana: ['Jpan'],
  Katakana: ['Jpan'],
  Hangul: ['Kore'],
  Bopomofo: ['Hanb'],
};

/** The scripts a letter belongs to, with the CJK writing systems it can be part of. */
function scriptsOf(char: string): Set<string> {
  const found = new Set<string>();
  for (const [name, test] of SCRIPT_TESTS) {
    if (!test.test(char)) continue;
    found.add(name);
    for (const system of CJK[name] ?? []) found.add(system);
  }
  if (found.size === 0) found.add('Other');
  return found;
}

function intersection(letters: string[]): Set<string> | undefined {
  let common: Set<string> | undefined;
  for (const char of letters) {
    const scripts = scriptsOf(char);
    common = common ? new Set([...common].filter((s) => scripts.has(s))) : scripts;
  }
  return common;
}

/** True when the letters come from one script, or from Latin plus one CJK writing system. */
export function isSingleScript(text: string): boolean {
  const letters = [...text].filter((c) => /\p{L}/u.test(c));
  const common = intersection(letters);
  if (!common || common.size > 0) return true;
  const rest = intersection(letters.filter((c) => !/\p{Script_Extensions=Latin}/u.test(c)));
  return !!rest && ['Jpan', 'Kore', 'Hanb'].some((system) => rest.has(system));
}

/** Why a nickname (already NFC-normalised) is refused, or undefined when it is fine. */
export function nicknameProblem(nickname: string): string | undefined {
  const length = [...nickname].length;
  if (length < 1 || length > MAX_NICKNAME_LENGTH)
    return `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`;
  if (INVISIBLE.test(nickname)) return 'nickname must not contain invisible characters';
  if (!NICKNAME_PATTERN.test(nickname)) {
    return "nickname may contain letters, digits, single spaces and _ . ' - only";
  }
  if (!isSingleScript(nickname)) return 'nickname must not mix letters of different scripts';
  if (utf8Bytes(nicknameKey(nickname)) > MAX_NICKNAME_KEY_BYTES) return 'nickname is too long';
  return undefined;
}
