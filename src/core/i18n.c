/* i18n.c - choosing the language of the messages and finding their catalogs. */
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
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

const char *ss_i18n_lang_arg(int *argc, char **argv, bool take)
{
    const char *lang = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        bool mine = false;
        if (strcmp(argv[i], "--") == 0) {
            /* Options end here: the rest are operands, kept as they are. */
            while (take && i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--lang") == 0 && i + 1 < *argc) {
            lang = argv[++i];
            mine = true;
        } else if (strncmp(argv[i], "--lang=", 7) == 0) {
            lang = argv[i] + 7;
            mine = true;
        }
        if (take && !mine)
            argv[out++] = argv[i];
    }
    if (take) {
        *argc = out;
        argv[out] = NULL;
    }
    return lang;
}

/*
 * East Asian Wide and Fullwidth characters (Unicode's EastAsianWidth.txt,
 * W and F), which a terminal draws two columns wide: CJK ideographs, kana,
 * hangul, fullwidth forms and punctuation such as "，" and "（".
 */
static bool is_wide(uint32_t c)
{
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},   {0x23F0, 0x23F0},
        {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x267F, 0x267F},
        {0x2693, 0x2693},   {0x26A1, 0x26A1},   {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
        {0x26CE, 0x26CE},   {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
        {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},   {0x2728, 0x2728},
        {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
        {0x27B0, 0x27B0},   {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},
        {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
        {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
        {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1AFF0, 0x1B2FF},
        {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
        {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF},
        {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
    };
    if (c < wide[0][0])
        return false;
    size_t lo = 0, hi = sizeof(wide) / sizeof(wide[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < wide[mid][0])
            hi = mid;
        else if (c > wide[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/*
 * Display width of a UTF-8 string: see i18n.h. Our own text only: a
 * malformed sequence counts one column per lead byte.
 */
size_t ss_i18n_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) { /* most cells are ASCII */
            w++;
            p++;
            continue;
        }
        uint32_t c = *p;
        int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (more)
            c &= 0x3Fu >> more;
        p++;
        for (; more > 0 && (*p & 0xC0) == 0x80; more--, p++)
            c = (c << 6) | (*p & 0x3Fu);
        w += is_wide(c) ? 2 : 1;
    }
    return w;
}

const char *ss_i18n_lang_tag(void)
{
    /* TRANSLATORS: the language tag of this translation (BCP 47), as in HTML's lang attribute: "zh-CN". */
    const char *tag = _("LANGUAGE-TAG");
    return strcmp(tag, "LANGUAGE-TAG") != 0 ? tag : "en";
}
