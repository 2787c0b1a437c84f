/* kmg-picture-strip.h — profile pictures reduced to what renders them (pure, no I/O).
 * Uploads carry EXIF GPS fixes, XMP, IPTC and text chunks; only pixels and colour may be kept. */
#pragma once

#include <glib.h>

#include "kmg-picture-sniff.h"

G_BEGIN_DECLS

/* Larger declared images are refused: a decoder would allocate width × height × 4 bytes. */
#define KMG_PICTURE_MAX_SIDE 8192u
#define KMG_PICTURE_MAX_PIXELS (8192u * 4096u)

/* Checks @data (see kmg_picture_sniff) and returns a copy holding only what renders it:
 * - JPEG: SOI, tables (DQT, DHT, DAC, DRI, DNL), the frame header, scans and EOI; JFIF and
 *   Adobe APP segments rewritten to their fixed fields; every other APPn (EXIF, XMP, ICC, IPTC,
 *   MPF and its appended images), COM and bytes after EOI dropped.
 * - PNG: IHDR, PLTE, IDAT, IEND and the fixed-size colour chunks tRNS, gAMA, cHRM, sRGB, cICP;
 *   every other ancillary chunk (text, eXIf, tIME, iCCP, APNG frames, ...) and bytes after IEND
 *   dropped.
 * - WebP: the image chunks (VP8, VP8L, ALPH, ANIM, ANMF frames) under a rewritten VP8X whose
 *   ICC, EXIF and XMP flags are cleared; ICCP, EXIF, XMP and unknown chunks dropped; RIFF size
 *   fixed.
 * Every dimension the file declares (frame header, canvas, each bitstream and animation frame)
 * must be non-zero, at most KMG_PICTURE_MAX_SIDE per side and KMG_PICTURE_MAX_PIXELS in all.
 * Stripping its own output returns the same bytes. @out describes the result.
 * Fails with KMG_ACCOUNTS_ERROR_BAD_PICTURE. */
GBytes *kmg_picture_strip (const guint8 *data, gsize len, KmgPictureInfo *out, GError **error);

G_END_DECLS
