/*
 * helpdoc: --help text and man page roff from the same tables (helpdoc.h).
 * The roff is kept to the portable man(7) macros (.TH .SH .SS .TP .PP .nf
 * .fi .RS .RE .br) so that man-db, mandoc and groff all read it, and every
 * '-' is written as \- so that options can be copied from the page.
 */
#include "helpdoc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void helpdoc_wrap(FILE *f, const char *text, int indent, int width)
{
    size_t room = width > indent + 20 ? (size_t)(width - indent) : 20;
    size_t len = strlen(text);

    while (len > room) {
        size_t cut = room;

        while (cut > 0 && text[cut] != ' ') {
            cut--;
        }
        if (cut == 0) {
            /* One word longer than the line: break after it. */
            cut = room;
            while (cut < len && text[cut] != ' ') {
                cut++;
            }
            if (cut == len) {
                break;
            }
        }
        fprintf(f, "%.*s\n%*s", (int)cut, text, indent, "");
        text += cut;
        len -= cut;
        while (*text == ' ') {
            text++;
            len--;
        }
    }
    fprintf(f, "%s\n", text);
}

void helpdoc_opt(FILE *f, const char *left, const char *help, const char *def, int col, int width)
{
    char text[2048];
    int n;

    if (2 + (int)strlen(left) + 2 > col) {
        fprintf(f, "  %s\n%*s", left, col, "");
    } else {
        n = fprintf(f, "  %s", left);
        fprintf(f, "%*s", n < col ? col - n : 1, "");
    }
    if (def != NULL && def[0] != '\0') {
        snprintf(text, sizeof(text), "%s [%s]", help, def);
    } else {
        snprintf(text, sizeof(text), "%s", help);
    }
    helpdoc_wrap(f, text, col, width);
}

/* Escapes the first len bytes of s (see helpdoc_man_escape()). quote: s is
 * a macro's quoted argument, which a '"' would end early. */
static void escape_n(FILE *f, const char *s, size_t len, int quote)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            fputs("\\e", f);
        } else if (s[i] == '-') {
            fputs("\\-", f);
        } else if (s[i] == '"' && quote) {
            fputs("\\(dq", f);
        } else if (s[i] == ',' && i + 1 < len && s[i + 1] != ' ' && !quote) {
            /* A list without blanks (CSV columns) may break after a comma:
             * hyphenation is off, and it may be wider than the page. */
            fputs(",\\:", f);
        } else {
            fputc(s[i], f);
        }
    }
}

void helpdoc_man_escape(FILE *f, const char *s)
{
    escape_n(f, s, strlen(s), 0);
}

/* Escapes a macro's quoted argument: no '"' may end it early. */
static void escape_arg(FILE *f, const char *s)
{
    fputc('"', f);
    escape_n(f, s, strlen(s), 1);
    fputc('"', f);
}

/* Prints len bytes of s as a roff text line: a leading '.' or '\'' would
 * make it a request, so it gets the zero-width \& in front. */
static void text_line(FILE *f, const char *s, size_t len)
{
    if (len > 0 && (s[0] == '.' || s[0] == '\'')) {
        fputs("\\&", f);
    }
    escape_n(f, s, len, 0);
    fputc('\n', f);
}

void helpdoc_man_head(FILE *f, const char *name, int section, const char *version,
                      const char *manual, const char *summary)
{
    char upper[64];
    char source[64];
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < sizeof(upper); i++) {
        upper[i] = (char)toupper((unsigned char)name[i]);
    }
    upper[i] = '\0';
    snprintf(source, sizeof(source), "coachq %s", version);
    fprintf(f, ".\\\" Generated from the program's option tables; do not edit.\n");
    fprintf(f, ".TH %s %d \"\" ", upper, section);
    escape_arg(f, source);
    fputc(' ', f);
    escape_arg(f, manual);
    fputc('\n', f);
    /* Option names and file formats must not be hyphenated or stretched. */
    fputs(".nh\n.ad l\n", f);
    helpdoc_man_section(f, "NAME");
    helpdoc_man_escape(f, name);
    fputs(" \\- ", f);
    helpdoc_man_escape(f, summary);
    fputc('\n', f);
}

void helpdoc_man_section(FILE *f, const char *title)
{
    fputs(".SH ", f);
    escape_arg(f, title);
    fputc('\n', f);
}

void helpdoc_man_subsection(FILE *f, const char *title)
{
    fputs(".SS ", f);
    escape_arg(f, title);
    fputc('\n', f);
}

void helpdoc_man_text(FILE *f, const char *text)
{
    const char *p = text;
    int literal = 0;
    int para = 1;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (len == 0) {
            if (literal) {
                fputs(".fi\n.RE\n", f);
                literal = 0;
            }
            para = 1;
        } else {
            if (para) {
                fputs(".PP\n", f);
                para = 0;
            }
            if (p[0] == ' ' && !literal) {
                fputs(".RS 2\n.nf\n", f);
                literal = 1;
            } else if (p[0] != ' ' && literal) {
                fputs(".fi\n.RE\n", f);
                literal = 0;
            }
            if (literal) {
                /* Two spaces of the text's own indent are the margin. */
                size_t skip = len >= 2 && p[1] == ' ' ? 2 : 1;

                text_line(f, p + skip, len - skip);
            } else {
                text_line(f, p, len);
            }
        }
        p += len;
        if (*p == '\n') {
            p++;
        }
    }
    if (literal) {
        fputs(".fi\n.RE\n", f);
    }
}

/* Prints one word of a tag or synopsis: options bold, placeholders italic. */
static void tag_word(FILE *f, const char *w, size_t len)
{
    fputs(len > 0 && w[0] == '-' ? "\\fB" : "\\fI", f);
    escape_n(f, w, len, 0);
    fputs("\\fR", f);
}

void helpdoc_man_opt(FILE *f, const char *tag, const char *help, const char *def)
{
    const char *p = tag;

    fputs(".TP\n", f);
    while (*p != '\0') {
        size_t len = strcspn(p, " ");

        tag_word(f, p, len);
        p += len;
        while (*p == ' ') {
            fputc(' ', f);
            p++;
        }
    }
    fputc('\n', f);
    text_line(f, help, strlen(help));
    if (def != NULL && def[0] != '\0') {
        fputs("(default: ", f);
        helpdoc_man_escape(f, def);
        fputs(")\n", f);
    }
}

void helpdoc_man_synopsis(FILE *f, const char *command, const char *args)
{
    fputs("\\fB", f);
    helpdoc_man_escape(f, command);
    fputs("\\fR", f);
    if (args != NULL && args[0] != '\0') {
        fputc(' ', f);
        helpdoc_man_escape(f, args);
    }
    fputs("\n.br\n", f);
}
