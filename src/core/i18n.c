/* i18n.c - choosing the language of the messages and finding their catalogs. */
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segscope/i18n.h"

#ifndef SS_LOCALEDIR
#define SS_LOCALEDIR "/usr/local/share/locale"
#endif

/* The locales under which glibc's gettext translates nothing and ignores LANGUAGE. */
static bool is_c_locale(const char *l)
{
    return !l || !l[0] || strcmp(l, "C") == 0 || strcmp(l, "POSIX") == 0;
}

/*
 * Makes gettext use LANGUAGE: glibc reads it only when the messages locale
 * is not "C". C.UTF-8 is built into glibc 2.35 and later (Debian 12), so it
 * is there even where no other locale was generated.
 */
static void leave_c_locale(void)
{
    if (!is_c_locale(setlocale(LC_MESSAGES, NULL)))
        return;
    if (!setlocale(LC_MESSAGES, "C.UTF-8"))
        setlocale(LC_MESSAGES, "C.utf8");
}

/*
 * The language the environment asks for, by POSIX precedence (LC_ALL, then
 * LC_MESSAGES, then LANG), without codeset or modifier: "zh_CN.UTF-8" gives
 * "zh_CN". Empty for C and POSIX.
 */
static void env_language(char *buf, size_t n)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (!v || !v[0])
            continue;
        size_t len = strcspn(v, ".@");
        if (len >= n)
            return;
        memcpy(buf, v, len);
        buf[len] = '\0';
        if (is_c_locale(buf))
            buf[0] = '\0';
        return;
    }
}

/* Where the catalogs are: "locale" beside the executable when it exists (a build tree), else the installed one. */
static void bind_catalogs(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        static const char sub[] = "/locale";
        if (slash && (size_t)(slash - exe) + sizeof(sub) <= sizeof(exe)) {
            memcpy(slash, sub, sizeof(sub));
            struct stat st;
            if (stat(exe, &st) == 0 && S_ISDIR(st.st_mode)) {
                bindtextdomain(SS_TEXTDOMAIN, exe);
                return;
            }
        }
    }
    bindtextdomain(SS_TEXTDOMAIN, SS_LOCALEDIR);
}

void ss_i18n_setup(const char *lang)
{
    /*
     * Only messages follow the locale: numbers keep their C format (a decimal
     * point, never a comma), so output stays comparable across machines.
     */
    bool have_locale = setlocale(LC_MESSAGES, "") != NULL;
    if (lang && lang[0]) {
        /* --lang: that language whatever the environment and the installed locales say. */
        setenv("LANGUAGE", is_c_locale(lang) ? "en" : lang, 1);
        leave_c_locale();
    } else if (!have_locale) {
        /*
         * The environment names a locale that is not installed (LANG=zh_CN.UTF-8
         * on a machine where only C.UTF-8 was generated): setlocale failed and
         * left "C", which would silence every translation. The catalog does
         * not need the system locale, so use the language the user asked for.
         */
        char want[64];
        env_language(want, sizeof(want));
        if (want[0]) {
            const char *language = getenv("LANGUAGE");
            if (!language || !language[0])
                setenv("LANGUAGE", want, 1);
            leave_c_locale();
        }
    }
    bind_catalogs();
    /* The output is UTF-8 (arrows, dashes), also under a "C" character type. */
    bind_textdomain_codeset(SS_TEXTDOMAIN, "UTF-8");
    textdomain(SS_TEXTDOMAIN);
}

const char *ss_i18n_lang_tag(void)
{
    /* TRANSLATORS: the language tag of this translation (BCP 47), as in HTML's lang attribute: "zh-CN". */
    const char *tag = _("LANGUAGE-TAG");
    return strcmp(tag, "LANGUAGE-TAG") != 0 ? tag : "en";
}
