/**
 * Linux's PATH_MAX, in bytes. Docker and containerd unpack an entry at its path below the layer's
 * directory, so a longer name or link target fails the pull ("file name too long").
 */
export const PATH_MAX = 4096;

/**
 * Whether a name (decoded as paths.ts's decodeName does: each byte that is not UTF-8 is one lone
 * surrogate) takes more than PATH_MAX bytes of UTF-8. Bytes are counted only for names long enough to
 * need it: UTF-8 takes at most three bytes per UTF-16 code unit and at least one.
 */
export function exceedsPathMax(name: string): boolean {
  if (name.length > PATH_MAX) return true;
  return name.length * 3 > PATH_MAX && utf8Length(name) > PATH_MAX;
}

/** Bytes of the name's UTF-8, a lone (escaped-byte) surrogate counting as the one byte it stands for. */
export function utf8Length(name: string): number {
  let bytes = 0;
  for (let at = 0; at < name.length; at++) {
    const unit = name.charCodeAt(at);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(name.charCodeAt(at + 1))) {
      bytes += 4;
      at++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) bytes += 1;
    else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
