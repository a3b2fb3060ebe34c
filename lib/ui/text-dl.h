/* text-dl.h: the text stack (FreeType, HarfBuzz, FriBidi, libunibreak, libthai), loaded by text_init (dl.h). */
#pragma once

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include <fribidi.h>
#include <hb.h>
#include <linebreak.h>
#include <thai/thbrk.h>
#include <thai/thwbrk.h>

#include "dl.h"

/*
 * An app that never draws text never maps these five libraries; the first
 * text_init loads them all. lib/ui/text.c keeps the libraries' own names and
 * calls them as sym_NAME.
 */
#define FREETYPE_SYMBOLS(X) \
    X(FT_Init_FreeType) \
    X(FT_Load_Glyph) \
    X(FT_New_Memory_Face) \
    X(FT_Outline_EmboldenXY) \
    X(FT_Render_Glyph) \
    X(FT_Set_Pixel_Sizes)

/* HarfBuzz's own OpenType functions measure: no hb-ft, so shaping never touches FreeType's state. */
#define HARFBUZZ_SYMBOLS(X) \
    X(hb_blob_create_from_file_or_fail) \
    X(hb_blob_get_data) \
    X(hb_buffer_add_utf32) \
    X(hb_buffer_allocation_successful) \
    X(hb_buffer_clear_contents) \
    X(hb_buffer_create) \
    X(hb_buffer_get_glyph_infos) \
    X(hb_buffer_get_glyph_positions) \
    X(hb_buffer_get_length) \
    X(hb_buffer_set_cluster_level) \
    X(hb_buffer_set_direction) \
    X(hb_buffer_set_language) \
    X(hb_buffer_set_script) \
    X(hb_face_create) \
    X(hb_font_create) \
    X(hb_font_get_h_extents) \
    X(hb_font_get_nominal_glyph) \
    X(hb_font_set_scale) \
    X(hb_language_from_string) \
    X(hb_shape) \
    X(hb_unicode_funcs_get_default) \
    X(hb_unicode_general_category) \
    X(hb_unicode_script)

#define FRIBIDI_SYMBOLS(X) \
    X(fribidi_get_bidi_types) \
    X(fribidi_get_bracket_types) \
    X(fribidi_get_par_embedding_levels_ex)

#define UNIBREAK_SYMBOLS(X) \
    X(init_linebreak) \
    X(set_linebreaks_utf32)

/* Thai is written without spaces between words: libthai finds them with its dictionary. */
#define LIBTHAI_SYMBOLS(X) \
    X(th_brk_new) \
    X(th_brk_wc_find_breaks)

FREETYPE_SYMBOLS(DL_DECLARE)
HARFBUZZ_SYMBOLS(DL_DECLARE)
FRIBIDI_SYMBOLS(DL_DECLARE)
UNIBREAK_SYMBOLS(DL_DECLARE)
LIBTHAI_SYMBOLS(DL_DECLARE)

int dlopen_freetype(struct err *e);
int dlopen_harfbuzz(struct err *e);
int dlopen_fribidi(struct err *e);
int dlopen_unibreak(struct err *e);
int dlopen_libthai(struct err *e);
