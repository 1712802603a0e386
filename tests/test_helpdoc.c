/*
 * Tests of helpdoc (--help text and man page roff from option tables):
 * wrapping keeps every word and the width, an option whose name is too
 * long gets its own line, and the roff never lets text become a request
 * or an option's '-' become a hyphen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpdoc.h"

/* A memory stream and what was written to it. */
struct out {
    FILE *f;
    char *text;
    size_t len;
};

static void out_open(struct out *o)
{
    memset(o, 0, sizeof(*o));
    o->f = open_memstream(&o->text, &o->len);
    assert_non_null(o->f);
}

/* Closes the stream; o->text holds what was written (free it). */
static const char *out_close(struct out *o)
{
    fclose(o->f);
    return o->text;
}

static void test_wrap(void **state)
{
    struct out o;
    const char *t;

    (void)state;
    out_open(&o);
    helpdoc_wrap(o.f, "aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk lll mmm nnn ooo ppp", 4, 30);
    t = out_close(&o);
    /* The first line starts at column 4 too (after an option's name):
     * every line ends by column 30, continuation lines start at 4. */
    assert_string_equal(t, "aaa bbb ccc ddd eee fff\n"
                           "    ggg hhh iii jjj kkk lll\n"
                           "    mmm nnn ooo ppp\n");
    free(o.text);

    /* A word longer than the line is not cut. */
    out_open(&o);
    helpdoc_wrap(o.f, "x a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w y", 0, 20);
    t = out_close(&o);
    assert_string_equal(t, "x\na,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w\ny\n");
    free(o.text);
}

static void test_opt(void **state)
{
    struct out o;
    const char *t;

    (void)state;
    out_open(&o);
    helpdoc_opt(o.f, "--data DIR", "data directory", "data", 16, 80);
    helpdoc_opt(o.f, "--dashboard-port-file FILE", "write the port", NULL, 16, 80);
    helpdoc_opt(o.f, "--flag", "no default", "", 16, 80);
    t = out_close(&o);
    assert_string_equal(t, "  --data DIR    data directory [data]\n"
                           "  --dashboard-port-file FILE\n"
                           "                write the port\n"
                           "  --flag        no default\n");
    free(o.text);
}

static void test_man_escape(void **state)
{
    struct out o;
    const char *t;

    (void)state;
    out_open(&o);
    helpdoc_man_escape(o.f, "--max-frame C:\\dir a,b, c");
    t = out_close(&o);
    assert_string_equal(t, "\\-\\-max\\-frame C:\\edir a,\\:b, c");
    free(o.text);
}

static void test_man_text(void **state)
{
    struct out o;
    const char *t;

    (void)state;
    out_open(&o);
    helpdoc_man_text(o.f, "First line\n.TH would be a request\n'so too\n"
                          "  literal one\n"
                          "    literal two\n"
                          "back to text\n"
                          "\n"
                          "Second paragraph.\n");
    t = out_close(&o);
    assert_string_equal(t, ".PP\n"
                           "First line\n"
                           "\\&.TH would be a request\n"
                           "\\&'so too\n"
                           ".RS 2\n.nf\n"
                           "literal one\n"
                           "  literal two\n"
                           ".fi\n.RE\n"
                           "back to text\n"
                           ".PP\n"
                           "Second paragraph.\n");
    free(o.text);
}

static void test_man_opt_and_head(void **state)
{
    struct out o;
    const char *t;

    (void)state;
    out_open(&o);
    helpdoc_man_opt(o.f, "-q, --quiet", "say less", NULL);
    helpdoc_man_opt(o.f, "--listen HOST:PORT", "the port", "127.0.0.1:7443");
    helpdoc_man_section(o.f, "EXIT STATUS");
    helpdoc_man_subsection(o.f, "coachq \"x\"");
    helpdoc_man_synopsis(o.f, "coachqd user add", "ID [options]");
    t = out_close(&o);
    assert_string_equal(t, ".TP\n\\fB\\-q,\\fR \\fB\\-\\-quiet\\fR\nsay less\n"
                           ".TP\n\\fB\\-\\-listen\\fR \\fIHOST:PORT\\fR\nthe port\n"
                           "(default: 127.0.0.1:7443)\n"
                           ".SH \"EXIT STATUS\"\n"
                           ".SS \"coachq \\(dqx\\(dq\"\n"
                           "\\fBcoachqd user add\\fR ID [options]\n.br\n");
    free(o.text);

    out_open(&o);
    helpdoc_man_head(o.f, "coachqd", 8, "0.1.0", "System Administration", "the server");
    t = out_close(&o);
    assert_non_null(strstr(t, ".TH COACHQD 8 \"\" \"coachq 0.1.0\" \"System Administration\"\n"));
    assert_non_null(strstr(t, ".SH \"NAME\"\ncoachqd \\- the server\n"));
    free(o.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_opt),
        cmocka_unit_test(test_man_escape),
        cmocka_unit_test(test_man_text),
        cmocka_unit_test(test_man_opt_and_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
