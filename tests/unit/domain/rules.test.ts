import { nicknameKey, utf8Bytes } from '../../../functions/shared/domain/rules';

describe('nicknameKey', () => {
  it('is the same for nicknames that differ only in case', () => {
    expect(nicknameKey('MIKKI')).toBe(nicknameKey('mikki'));
  });

  it('is the same for full-width and ASCII forms', () => {
    expect(nicknameKey('Ｍｉｋｋｉ')).toBe(nicknameKey('Mikki'));
  });

  it('is the same for composed and decomposed accents', () => {
    expect(nicknameKey('R\u00e9mi')).toBe(nicknameKey('Re\u0301mi'));
  });

  it('differs for different nicknames', () => {
    expect(nicknameKey('Mikki')).not.toBe(nicknameKey('Mikko'));
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
