/*
 * helpdoc: writes one program's documentation in two forms from the same
 * tables: the plain text of --help (wrapped to the terminal's customary
 * width) and the roff of its manual page (man(7) macros). The tables
 * themselves belong to the programs (server/config.c, admin/admin_args.c,
 * client/cli_doc.c); this module only knows how to print a paragraph, an
 * option and a section, so that --help and the man page cannot say
 * different things.
 *
 * Text given to these functions is plain: no roff, no markup. A
 * description may hold paragraphs separated by a blank line, and lines
 * that start with a space, which are kept as they are (lists, examples);
 * other lines of a paragraph are filled in the man page.
 *
 * No state and no allocation; every pointer is borrowed for the call.
 */
#ifndef COACHQ_HELPDOC_H
#define COACHQ_HELPDOC_H

#include <stdio.h>

/*
 * Prints text wrapped at width columns: the first line starts where the
 * cursor is (assumed at column indent), continuation lines are indented by
 * indent. Ends with a newline.
 */
void helpdoc_wrap(FILE *f, const char *text, int indent, int width);

/*
 * Prints one option of --help: "  LEFT  help [default]", the help starting
 * at column col (LEFT on its own line when it does not fit) and wrapped at
 * width. def may be NULL or empty (no brackets).
 */
void helpdoc_opt(FILE *f, const char *left, const char *help, const char *def, int col, int width);

/*
 * Prints the header of a man page: the .TH line (title upper-cased by the
 * reader, section, version as the source, manual's name) and NAME with the
 * one-line summary.
 */
void helpdoc_man_head(FILE *f, const char *name, int section, const char *version,
                      const char *manual, const char *summary);

/* Prints a section heading (.SH). */
void helpdoc_man_section(FILE *f, const char *title);

/* Prints a subsection heading (.SS). */
void helpdoc_man_subsection(FILE *f, const char *title);

/* Prints text as man page paragraphs (see the top of this file). */
void helpdoc_man_text(FILE *f, const char *text);

/*
 * Prints one tagged paragraph (.TP): the tag in bold up to its first
 * space, the rest (an argument placeholder) in italics, then the help and
 * the default, as --help prints them.
 */
void helpdoc_man_opt(FILE *f, const char *tag, const char *help, const char *def);

/* Prints one synopsis line: the command in bold, its arguments roman. */
void helpdoc_man_synopsis(FILE *f, const char *command, const char *args);

/* Prints s with roff's special characters escaped, without a newline. */
void helpdoc_man_escape(FILE *f, const char *s);

#endif
