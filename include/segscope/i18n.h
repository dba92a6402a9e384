/* i18n.h - translated text: the gettext macros and the program's choice of language. */
#ifndef SEGSCOPE_I18N_H
#define SEGSCOPE_I18N_H

#include <libintl.h>
#include <stdbool.h>
#include <stddef.h>

/* The message catalog of every segscope program and of the library. */
#define SS_TEXTDOMAIN "segscope"

/*
 * _("text") is the translation of text in the chosen language (the text
 * itself when there is none); N_("text") only marks text for the catalog,
 * for tables translated later with _(). The library asks its own text
 * domain explicitly, so a program embedding it may use another one.
 * dgettext is declared with format_arg, so printf(_("%s"), x) keeps its
 * format checking.
 */
#define _(text) dgettext(SS_TEXTDOMAIN, text)
#define N_(text) text
/*
 * The translation of text from a table (state names, error texts) that was
 * marked with N_() or picked up from its X-macro; "" stays "" (gettext("")
 * would return the catalog's header).
 */
static inline const char *ss_i18n_tr(const char *text)
{
    return text && text[0] ? _(text) : text;
}

/* Singular or plural of a counted phrase (languages like Chinese have only one form). */
#define P_(one, many, n) dngettext(SS_TEXTDOMAIN, one, many, (unsigned long)(n))

/*
 * Chooses the language of the program's messages, once, at the start of
 * main(), before any other thread runs: `lang` ("zh_CN", from --lang) or,
 * when NULL, the environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG). A
 * language works even when its system locale is not installed (a fresh
 * Debian has only C.UTF-8): gettext is then steered with LANGUAGE under
 * C.UTF-8. Only the categories for messages and characters are set, so
 * numbers keep their C format. The catalogs are looked for in "locale"
 * next to the executable (a build tree), then in the installed locale
 * directory. Translated text is always UTF-8, whatever the locale.
 */
void ss_i18n_setup(const char *lang);

/*
 * The value of the last "--lang LANG" or "--lang=LANG" among argv[1..argc-1]
 * (none after "--"), or NULL: looked for before the options are parsed, so
 * that what they print is already in that language. With `take`, those
 * arguments are also removed from argv (argv[*argc] stays NULL), for a
 * program whose subcommands parse their own options and do not know it.
 */
const char *ss_i18n_lang_arg(int *argc, char **argv, bool take);

/*
 * Display width of a UTF-8 string in terminal columns: one per code point
 * (arrows, dashes), two for the wide characters of Chinese, Japanese and
 * Korean, so that tables line up in every language.
 */
size_t ss_i18n_width(const char *s);

/* The language tag of the text in use ("en", "zh-CN"), for an HTML document's lang attribute. */
const char *ss_i18n_lang_tag(void);

#endif
