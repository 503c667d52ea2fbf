/**
 * Linux's PATH_MAX, in bytes, the terminating NUL included: a syscall refuses a path of 4096 bytes or more
 * ("file name too long"). Docker unpacks a layer (and `docker load` an archive) chrooted into its folder,
 * so an entry `a/b` is created as `/a/b` and a hardlink links from `/` + its target; a symlink's target is
 * stored as written.
 */
export const PATH_MAX = 4096;

/** The longest path a syscall takes, in bytes: PATH_MAX less the NUL. */
export const LONGEST_PATH = PATH_MAX - 1;

/**
 * Whether the kernel refuses `name`, as a syscall is given it: a path from the root (`/a/b`) or a symlink's
 * target as written; a path without its leading `/` (`a/b`, as archives name members) is counted with it.
 * `name` is decoded as paths.ts's decodeName does (each byte that is not UTF-8 is one lone surrogate).
 * Bytes are counted only for names long enough to need it: UTF-8 takes at most three bytes per UTF-16
 * code unit and at least one.
 */
export function exceedsPathMax(name: string, from: 'as-given' | 'from-root' = 'as-given'): boolean {
  const limit = from === 'from-root' ? LONGEST_PATH - 1 : LONGEST_PATH;
  if (name.length > limit) return true;
  return name.length * 3 > limit && utf8Length(name) > limit;
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
