#!/usr/bin/python3
"""Writes service/core/lang_hanzi.c: which CJK unified ideographs (U+4E00..U+9FFF) only one of
the two Chinese scripts writes, as two bitmaps for the language guess of service/core/lang.c.

A character that GB 2312 (the simplified national set) encodes and Big5 (the traditional one)
does not is counted as simplified; one that Big5 encodes and GB 2312 does not, as traditional.
Both sets are Python's own codecs: run it again (python3 tools/gen_hanzi.py > FILE) to check.
"""
import sys

FIRST, LAST = 0x4E00, 0x9FFF


def encodes(ch, codec):
    try:
        ch.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def bitmap(pred):
    bits = bytearray((LAST - FIRST + 1 + 7) // 8)
    for cp in range(FIRST, LAST + 1):
        if pred(chr(cp)):
            i = cp - FIRST
            bits[i >> 3] |= 1 << (i & 7)
    return bits


def emit(name, bits, comment, out):
    out.write("/* %s */\n" % comment)
    out.write("const unsigned char %s[LANG_HANZI_BYTES] = {\n" % name)
    for i in range(0, len(bits), 16):
        out.write("\t" + ", ".join("0x%02x" % b for b in bits[i:i + 16]) + ",\n")
    out.write("};\n\n")


def main():
    out = sys.stdout
    hans = bitmap(lambda c: encodes(c, "gb2312") and not encodes(c, "big5"))
    hant = bitmap(lambda c: encodes(c, "big5") and not encodes(c, "gb2312"))
    out.write("/* lang_hanzi.c: written by tools/gen_hanzi.py (do not edit): the CJK unified "
              "ideographs\n * U+4E00..U+9FFF that one Chinese script writes and the other "
              "does not, bit (cp - 0x4E00)\n * of each table (byte i >> 3, bit i & 7). */\n")
    out.write('#include "core_int.h"\n\n')
    emit("lang_hans_bits", hans, "in GB 2312, not in Big5: %d characters" % sum(
        bin(b).count("1") for b in hans), out)
    emit("lang_hant_bits", hant, "in Big5, not in GB 2312: %d characters" % sum(
        bin(b).count("1") for b in hant), out)


if __name__ == "__main__":
    main()
