/*
 * cmd_submit: the commands that send and read observations: submit (JSON
 * files, the outbox when the server cannot be reached), get, list,
 * history (every version of an observation) and mine (your recent
 * observations with what waits in your outbox).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "localstore.h"
#include "obs_json.h"
#include "uuid.h"
#include "str.h"

/* ---- submit -------------------------------------------------------------- */

struct input {
    const char *path; /* borrowed from argv */
    json_t *root;
    int is_stdin;
    int dirty; /* ids were added */
};

struct submit {
    struct cli *x;
    struct input *in;
    size_t n_in;
    Coachq__V1__Observation **obs;
    size_t *rec_file;  /* record -> input */
    size_t *rec_index; /* record -> index in its array, or SIZE_MAX for a lone object */
    size_t n;
    size_t unsaved_ids; /* records given an id that no file keeps */
    int quiet;
    int tty;
};

static void progress_cb(size_t answered, size_t total, void *arg)
{
    struct submit *s = arg;

    if (s->quiet) {
        return;
    }
    if (s->tty) {
        if (answered % 100 == 0 || answered == total) {
            fprintf(s->x->err, "\rsubmitted %zu/%zu", answered, total);
            if (answered == total) {
                fputc('\n', s->x->err);
            }
            fflush(s->x->err);
        }
    } else if (total >= 1000 && (answered % 1000 == 0 || answered == total)) {
        fprintf(s->x->err, "submitted %zu/%zu\n", answered, total);
    }
}

/* Writes root to path through a temporary file in the same directory. */
int cli_rewrite_file(struct cli *x, const char *path, json_t *root)
{
    char tmp[PATH_LEN + 32];
    const char *slash = strrchr(path, '/');
    struct stat st;
    int fd = -1;
    int rc = -1;

    if (slash != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
    } else {
        snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        cli_msg(x, "%s: cannot create a temporary file to add ids: %s", path, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    if (stat(path, &st) == 0) {
        fchmod(fd, st.st_mode & 07777);
    }
    if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_REAL_PRECISION(OBS_JSON_REAL_PRECISION)) < 0 ||
        write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        cli_msg(x, "%s: cannot write the ids: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        cli_msg(x, "%s: cannot write the ids: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        cli_msg(x, "%s: cannot replace the file: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    return rc;
}

/* Returns a copy of obj with "id" first (jansson keeps insertion order). */
static json_t *with_id_first(json_t *obj, const char *id)
{
    json_t *n = json_object();
    const char *k;
    json_t *v;

    if (n == NULL || json_object_set_new(n, "id", json_string(id)) < 0) {
        json_decref(n);
        return NULL;
    }
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, "id") != 0 && json_object_set(n, k, v) < 0) {
            json_decref(n);
            return NULL;
        }
    }
    return n;
}

/*
 * Reads one JSON file (or standard input when is_stdin), refusing repeated
 * keys. Returns the document (caller owns, json_decref()), or NULL after
 * printing where the file is wrong.
 */
json_t *cli_load_input(struct cli *x, const char *path, int is_stdin)
{
    json_error_t je;
    json_t *root;
    const char *name = is_stdin ? "(stdin)" : path;

    if (is_stdin) {
        root = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
    } else {
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    }
    if (root == NULL) {
        if (je.line > 0) {
            cli_msg(x, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        } else {
            cli_msg(x, "%s: %s", name, je.text);
        }
    }
    return root;
}

/*
 * Gives a record that has no id a fresh random UUID (id->data is malloc'd
 * and belongs to the record). When copy is not NULL, *copy is set to a copy
 * of obj, the JSON the record came from, with the new "id" first (caller
 * owns), to be written back into its file. Returns 0 or -ENOMEM.
 */
int cli_give_id(ProtobufCBinaryData *id, json_t *obj, json_t **copy)
{
    char ids[UUID_STR_LEN];

    id->data = malloc(UUID_LEN);
    if (id->data == NULL || uuid_generate(id->data) < 0) {
        free(id->data);
        id->data = NULL;
        return -ENOMEM;
    }
    id->len = UUID_LEN;
    if (copy != NULL) {
        *copy = with_id_first(obj, uuid_format(id->data, ids));
        if (*copy == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Names a record for messages: "file" or "file: record 3". */
static void record_label(const struct submit *s, size_t r, char *buf, size_t len)
{
    const struct input *in = &s->in[s->rec_file[r]];
    const char *name = in->is_stdin ? "(stdin)" : in->path;

    if (s->rec_index[r] == SIZE_MAX) {
        snprintf(buf, len, "%s", name);
    } else {
        snprintf(buf, len, "%s: record %zu", name, s->rec_index[r]);
    }
}

/* Parses one JSON object as record r, adding an id if it has none. */
static int add_record(struct submit *s, size_t file, size_t index, json_t *obj, int write_ids,
                      size_t *bad)
{
    struct input *in = &s->in[file];
    Coachq__V1__Observation *o = NULL;
    char err[512];
    char label[PATH_LEN + 64];
    size_t r = s->n;
    int rc;

    s->rec_file[r] = file;
    s->rec_index[r] = index;
    rc = obs_json_parse(obj, &o, err, sizeof(err));
    if (rc < 0) {
        record_label(s, r, label, sizeof(label));
        cli_msg(s->x, "%s: %s", label, err);
        (*bad)++;
        return rc == -ENOMEM ? rc : 0;
    }
    if (o->id.len == 0) {
        json_t *n = NULL;

        if (cli_give_id(&o->id, obj, write_ids && !in->is_stdin ? &n : NULL) < 0) {
            obs_json_free(o);
            return -ENOMEM;
        }
        if (n != NULL) {
            if (index == SIZE_MAX) {
                json_decref(in->root);
                in->root = n;
            } else {
                json_array_set_new(in->root, index, n);
            }
            in->dirty = 1;
        } else {
            s->unsaved_ids++;
        }
    }
    s->obs[r] = o;
    s->n++;
    return 0;
}

/*
 * Puts the records the server did not answer (every record when res is
 * NULL) into the outbox as queued, with why, and prints a line for each.
 * Their queue times are a millisecond apart so that the outbox keeps the
 * input's order (an original before its amendment). Adds to *queued.
 */
static void submit_queue(struct submit *s, const struct client_submit_result *res,
                         const struct client_error *why, size_t *queued)
{
    struct cli *x = s->x;
    struct localstore *ls = NULL;
    Coachq__V1__Error err = COACHQ__V1__ERROR__INIT;
    int64_t now = cli_now_ms();
    char id[UUID_STR_LEN];
    char reason[sizeof(why->message) + 64];

    if (cli_open_store(x, &ls) != 0) {
        cli_msg(x, "%s; nothing was queued", why->message);
        return;
    }
    err.code = why->code != COACHQ__V1__CODE__OK ? why->code : COACHQ__V1__CODE__UNAVAILABLE;
    err.message = (char *)why->message;
    err.field = (char *)why->field;
    for (size_t r = 0; r < s->n; r++) {
        Coachq__V1__OutboxEntry e = COACHQ__V1__OUTBOX_ENTRY__INIT;
        int rc;

        if (res != NULL && res[r].done) {
            continue;
        }
        e.observation = s->obs[r];
        e.state = COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED;
        e.last_error = &err;
        e.attempts = 1;
        e.queued_at_ms = now + (int64_t)r;
        e.last_attempt_ms = now;
        cli_obs_id(s->obs[r], id);
        rc = localstore_outbox_put(ls, &e);
        if (rc < 0) {
            cli_msg(x, "%s: not queued: %s: %s", id, localstore_path(ls), strerror(-rc));
            continue;
        }
        fprintf(x->out, "%s QUEUED (%s): coachq queue flush sends it\n", id,
                cli_conn_why(why, reason, sizeof(reason)));
        (*queued)++;
    }
    localstore_close(ls);
}

/* Prints the answer to record r; counts it in stored, dup or failed. */
static void submit_report(struct submit *s, size_t r, const struct client_submit_result *res,
                          size_t counts[3])
{
    char id[UUID_STR_LEN];

    cli_obs_id(s->obs[r], id);
    if (res->done && res->err.code == COACHQ__V1__CODE__OK) {
        int is_dup = res->result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE;

        counts[is_dup ? 1 : 0]++;
        if (!s->quiet) {
            fprintf(s->x->out, "%s %s seq=%llu", id, is_dup ? "DUPLICATE" : "STORED",
                    (unsigned long long)res->seq);
            /* Only amendments say their version: an original is 1. */
            if (res->version > 1) {
                fprintf(s->x->out, " version=%u", res->version);
            }
            fputc('\n', s->x->out);
        }
        return;
    }
    counts[2]++;
    fprintf(s->x->out, "%s ERROR %s %s%s%s\n", id, cli_code_name(res->err.code), res->err.field,
            res->err.field[0] ? ": " : "", res->err.message);
}

/*
 * Sends the parsed records and prints what became of each. When the server
 * cannot be reached, or the connection fails before every answer, the
 * records without an answer go to the outbox. Returns the exit code.
 */
static int submit_send(struct submit *s, unsigned window)
{
    struct cli *x = s->x;
    struct client *c = NULL;
    struct client_submit_result *res = NULL;
    struct client_error why;
    size_t counts[3] = {0, 0, 0}; /* stored, duplicate, failed */
    size_t queued = 0;
    int queued_why = 0;
    int rc = cli_try_connect(x, window, &c, &why);
    int src = -1;

    if (rc == CLI_EXIT_USAGE) {
        return rc;
    }
    if (rc == 0) {
        res = calloc(s->n, sizeof(*res));
        if (res == NULL) {
            cli_msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        src = client_submit_many(c, s->obs, s->n, res, progress_cb, s);
        for (size_t r = 0; r < s->n; r++) {
            if (res[r].done) {
                submit_report(s, r, &res[r], counts);
            } else if (queued_why == 0) {
                /* The first record left without an answer says why. */
                why = res[r].err;
                queued_why = 1;
            }
        }
    }
    if (src < 0) {
        submit_queue(s, res, &why, &queued);
    }
    fprintf(x->out, "stored=%zu duplicate=%zu failed=%zu", counts[0], counts[1], counts[2]);
    if (queued > 0) {
        fprintf(x->out, " queued=%zu", queued);
    }
    fputc('\n', x->out);
    if (src < 0) {
        cli_msg(x,
                "the server %s; %zu record%s wait%s in the outbox (coachq queue list): "
                "'coachq queue flush' sends %s, stored once however often it is sent",
                c == NULL
                    ? (cli_conn_refused(why.code) ? "refused the connection" : "was unreachable")
                    : "connection failed before every answer",
                queued, str_plural(queued, "", "s"), str_plural(queued, "s", ""),
                str_plural(queued, "it", "them"));
        rc = CLI_EXIT_CONNECT;
    } else {
        rc = counts[2] > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    }
out:
    client_free(c);
    free(res);
    return rc;
}

/* Reads the n_in files named by paths into s->in, adding their records
 * to *total and their faults to *bad. Returns 0, or an exit code after
 * saying why no file may be read. */
static int read_inputs(struct submit *s, char **paths, size_t *total, size_t *bad)
{
    struct cli *x = s->x;

    for (size_t i = 0; i < s->n_in; i++) {
        struct input *in = &s->in[i];

        in->path = paths[i];
        in->is_stdin = strcmp(in->path, "-") == 0;
        for (size_t k = 0; k < i && in->is_stdin; k++) {
            if (s->in[k].is_stdin) {
                return cli_usage(x, "standard input (-) given twice");
            }
        }
        in->root = cli_load_input(x, in->path, in->is_stdin);
        if (in->root == NULL) {
            (*bad)++;
            continue;
        }
        if (json_is_array(in->root)) {
            *total += json_array_size(in->root);
        } else if (json_is_object(in->root)) {
            (*total)++;
        } else {
            cli_msg(x, "%s: must hold a JSON object or an array of objects",
                    in->is_stdin ? "(stdin)" : in->path);
            (*bad)++;
        }
    }
    return 0;
}

/* Decodes the records of every file read (at most total of them) into
 * s->obs, counting the faults in *bad. Returns 0 or -ENOMEM. */
static int collect_records(struct submit *s, size_t total, int write_ids, size_t *bad)
{
    s->obs = calloc(total > 0 ? total : 1, sizeof(*s->obs));
    s->rec_file = calloc(total > 0 ? total : 1, sizeof(*s->rec_file));
    s->rec_index = calloc(total > 0 ? total : 1, sizeof(*s->rec_index));
    if (s->obs == NULL || s->rec_file == NULL || s->rec_index == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n_in; i++) {
        struct input *in = &s->in[i];
        int e = 0;

        if (in->root == NULL) {
            continue; /* reported above; the other files are still checked */
        }
        if (json_is_object(in->root)) {
            e = add_record(s, i, SIZE_MAX, in->root, write_ids, bad);
        } else if (json_is_array(in->root)) {
            for (size_t k = 0; k < json_array_size(in->root) && e == 0; k++) {
                e = add_record(s, i, k, json_array_get(in->root, k), write_ids, bad);
            }
        }
        if (e < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

int cli_cmd_submit(struct cli *x, int argc, char **argv)
{
    struct submit s;
    unsigned long window = 0;
    int write_ids = 1;
    size_t total = 0;
    size_t bad = 0;
    int rc = CLI_EXIT_FAILED;
    int opt;
    int e;

    memset(&s, 0, sizeof(s));
    s.x = x;
    for (;;) {
        int orc = cli_next_option(x, argc, argv, &cli_doc_submit, &opt);
        if (orc >= 0) {
            return orc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case 'q':
            s.quiet = 1;
            break;
        case OPT_NO_WRITE_IDS:
            write_ids = 0;
            break;
        case OPT_WINDOW:
            if (cli_parse_ulong(optarg, 1, 4096, &window) < 0) {
                return cli_usage(x, "--window: '%s' is not a number 1..4096", optarg);
            }
            break;
        default:
            return cli_bad_option(x, argc, argv);
        }
    }
    if (optind >= argc) {
        return cli_usage(x, "no FILE given (use - for standard input)");
    }
    s.n_in = (size_t)(argc - optind);
    s.in = calloc(s.n_in, sizeof(*s.in));
    if (s.in == NULL) {
        cli_msg(x, "out of memory");
        goto out;
    }
    s.tty = isatty(fileno(x->err));

    /* Read every file first. */
    e = read_inputs(&s, argv + optind, &total, &bad);
    if (e != 0) {
        rc = e;
        goto out;
    }
    if (collect_records(&s, total, write_ids, &bad) < 0) {
        cli_msg(x, "out of memory");
        goto out;
    }
    if (bad > 0) {
        cli_msg(x, "%zu error%s in the input; nothing was sent", bad, str_plural(bad, "", "s"));
        goto out;
    }
    if (s.n == 0) {
        cli_msg(x, "no records in the input; nothing to send");
        rc = CLI_EXIT_OK;
        fprintf(x->out, "stored=0 duplicate=0 failed=0\n");
        goto out;
    }
    /* Persist new ids before sending, so a retry after any failure below
     * reuses them. */
    for (size_t i = 0; i < s.n_in; i++) {
        if (s.in[i].dirty && cli_rewrite_file(x, s.in[i].path, s.in[i].root) < 0) {
            cli_msg(x, "nothing was sent (use --no-write-ids to send without saving the ids)");
            goto out;
        }
        if (s.in[i].dirty && !s.quiet) {
            cli_msg(x, "%s: added ids to records that had none", s.in[i].path);
        }
    }
    if (s.unsaved_ids > 0 && !s.quiet) {
        cli_msg(x,
                "%zu record%s got a new id that is not saved anywhere: sending the same input "
                "again will store %s a second time",
                s.unsaved_ids, str_plural(s.unsaved_ids, "", "s"),
                str_plural(s.unsaved_ids, "it", "them"));
    }

    rc = submit_send(&s, (unsigned)window);
out:
    for (size_t r = 0; r < s.n; r++) {
        obs_json_free(s.obs[r]);
    }
    free(s.obs);
    free(s.rec_file);
    free(s.rec_index);
    for (size_t i = 0; i < s.n_in; i++) {
        json_decref(s.in[i].root);
    }
    free(s.in);
    return rc;
}

/* ---- get ----------------------------------------------------------------- */

/* The enum value's proto name without prefix, lower-case ("enablement_lead"). */
const char *cli_enum_label(const ProtobufCEnumDescriptor *d, int v, const char *prefix, char *buf,
                           size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    const char *name;
    size_t i;

    if (ev == NULL) {
        snprintf(buf, len, "%d", v);
        return buf;
    }
    name = ev->name;
    if (strncmp(name, prefix, strlen(prefix)) == 0) {
        name += strlen(prefix);
    }
    for (i = 0; name[i] != '\0' && i + 1 < len; i++) {
        buf[i] = (char)tolower((unsigned char)name[i]);
    }
    buf[i] = '\0';
    return buf;
}

/* Mean of the scored ratings and their count; n/a ratings never count. */
static double mean_score(const Coachq__V1__Observation *o, size_t *scored)
{
    double sum = 0;

    *scored = 0;
    for (size_t i = 0; i < o->n_ratings; i++) {
        if (!o->ratings[i]->not_applicable && o->ratings[i]->score > 0) {
            sum += o->ratings[i]->score;
            (*scored)++;
        }
    }
    return *scored > 0 ? sum / (double)*scored : 0;
}

const char *cli_or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* The lines saying what else an observation refers to. */
void cli_print_obs_links(FILE *f, const Coachq__V1__Observation *o)
{
    char e[UUID_STR_LEN];

    if (o->amends.len == UUID_LEN) {
        fprintf(f, "amends      %s\n", uuid_format(o->amends.data, e));
    }
    if (o->calibration_ref.len == UUID_LEN) {
        fprintf(f, "calibration %s (an attempt at a reference session; not in dashboards)\n",
                uuid_format(o->calibration_ref.data, e));
    }
    if (o->recording != NULL) {
        cli_print_recording(f, o->recording);
    }
}

/* The observation's content, from its rubric on. */
void cli_print_obs_body(FILE *f, const Coachq__V1__Observation *o)
{
    char t[DAY_TIME_LEN];
    char e[64];
    size_t scored;
    double mean = mean_score(o, &scored);

    fprintf(f, "rubric      %s v%u\n", cli_or_dash(o->rubric_id), o->rubric_version);
    fprintf(f, "coach       %s\n", cli_or_dash(o->coach_id));
    fprintf(f, "coachee     %s\n", cli_or_dash(o->coachee_id));
    fprintf(f, "session     %s",
            obs_json_session_type_name(o->session_type) != NULL
                ? obs_json_session_type_name(o->session_type)
                : cli_enum_label(&coachq__v1__session_type__descriptor, o->session_type,
                                 "SESSION_TYPE_", e, sizeof(e)));
    if (obs_json_focus_name(o->focus) != NULL) {
        fprintf(f, ", focus %s", obs_json_focus_name(o->focus));
    }
    day_format_time(o->started_at, t, sizeof(t));
    fprintf(f, "\nstarted     %s, %u min", t, o->duration_s / 60);
    if (o->duration_s % 60 != 0) {
        fprintf(f, " %u s", o->duration_s % 60);
    }
    fputc('\n', f);
    if (scored > 0) {
        fprintf(f, "ratings     %zu, mean %.2f over %zu scored\n", o->n_ratings, mean, scored);
    } else {
        fprintf(f, "ratings     %zu, none scored\n", o->n_ratings);
    }
    for (size_t i = 0; i < o->n_ratings; i++) {
        const Coachq__V1__Rating *r = o->ratings[i];
        char sc[8];

        if (r->not_applicable) {
            snprintf(sc, sizeof(sc), "n/a");
        } else {
            snprintf(sc, sizeof(sc), "%u", r->score);
        }
        fprintf(f, "  %-28s %3s", r->behaviour_id, sc);
        if (r->evidence != NULL && r->evidence[0] != '\0') {
            fprintf(f, "  %s", r->evidence);
        }
        fputc('\n', f);
    }
    if (o->n_markers > 0) {
        fprintf(f, "markers     %zu\n", o->n_markers);
    }
    for (size_t i = 0; i < o->n_markers; i++) {
        const Coachq__V1__Marker *m = o->markers[i];
        const char *k = obs_json_marker_kind_name(m->kind);

        obs_json_format_offset(m->offset_ms, t, sizeof(t));
        fprintf(f, "  %9s  %-18s", t, k != NULL ? k : "?");
        if (cli_marker_author(m) != NULL) {
            fprintf(f, " [%s]", cli_marker_author(m));
        }
        if (m->note != NULL && m->note[0] != '\0') {
            fprintf(f, " %s", m->note);
        }
        fputc('\n', f);
    }
    if (o->n_actions > 0) {
        fprintf(f, "actions     %zu\n", o->n_actions);
    }
    for (size_t i = 0; i < o->n_actions; i++) {
        const Coachq__V1__Action *a = o->actions[i];

        fprintf(f, "  - %s", a->text);
        if (a->owner_id != NULL && a->owner_id[0] != '\0') {
            fprintf(f, " (owner %s", a->owner_id);
        } else {
            fprintf(f, " (no owner");
        }
        if (a->due_day != 0) {
            day_format(a->due_day, t, sizeof(t));
            fprintf(f, ", due %s", t);
        }
        fprintf(f, ")\n");
    }
    if (o->notes != NULL && o->notes[0] != '\0') {
        fprintf(f, "notes       %s\n", o->notes);
    }
}

static void print_record(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];

    if (o == NULL) {
        fprintf(f, "(empty record, seq %llu)\n", (unsigned long long)s->seq);
        return;
    }
    fprintf(f, "id          %s\n", cli_obs_id(o, id));
    if (s->version != 0) {
        fprintf(f, "version     %u, %s\n", s->version,
                s->superseded ? "superseded by a later version" : "current");
    }
    cli_print_obs_links(f, o);
    day_format_time_ms(s->received_at_ms, t, sizeof(t));
    fprintf(f, "seq         %llu (received %s from %s)\n", (unsigned long long)s->seq, t,
            cli_or_dash(s->observer_id));
    cli_print_obs_body(f, o);
}

/* Prints j (borrowed; NULL when building it ran out of memory) with indent
 * 2 and a newline. Returns CLI_EXIT_OK, or CLI_EXIT_FAILED after saying
 * that memory ran out. */
int cli_print_json(struct cli *x, const json_t *j)
{
    char *text = j != NULL
                     ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(OBS_JSON_REAL_PRECISION))
                     : NULL;

    if (text == NULL) {
        cli_msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    fprintf(x->out, "%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

int cli_cmd_get(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error e;
    uint8_t id[UUID_LEN];
    int json = 0;
    int rc = cli_id_options(x, argc, argv, &cli_doc_get, &json, id);

    if (rc >= 0) {
        return rc;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_get(c, id, &rec, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (json) {
        json_t *j = obs_json_from_stored(rec);

        rc = cli_print_json(x, j);
        json_decref(j);
    } else {
        print_record(x->out, rec);
        rc = CLI_EXIT_OK;
    }
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    client_free(c);
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

/* "YYYY-MM-DD" (start of the day, or of the next day when end) or a full
 * ISO-8601 time. Returns 0 or -EINVAL. */
static int parse_when(const char *s, int end, int64_t *out)
{
    char buf[40];

    if (strlen(s) == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        if (day_parse_time(buf, out) < 0) {
            return -EINVAL;
        }
        if (end) {
            *out += 86400;
        }
        return 0;
    }
    return day_parse_time(s, out);
}

static void print_row(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char t[DAY_TIME_LEN];
    char id[UUID_STR_LEN] = "-";
    char rubric[96];
    char mean[16] = "-";
    size_t scored;
    double m;

    if (o == NULL) {
        return;
    }
    if (o->id.len == UUID_LEN) {
        uuid_format(o->id.data, id);
    }
    day_format_time(o->started_at, t, sizeof(t));
    snprintf(rubric, sizeof(rubric), "%s v%u", o->rubric_id, o->rubric_version);
    m = mean_score(o, &scored);
    if (scored > 0) {
        snprintf(mean, sizeof(mean), "%.2f", m);
    }
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3zu\n", t, id, o->coach_id,
            o->coachee_id, cli_or_dash(s->observer_id), rubric, mean, o->n_ratings);
}

/* Called for each record of a listing (borrowed for the call); returns 0
 * to go on or an exit code (after saying why). */
typedef int (*list_row_cb)(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg);

/*
 * Follows the server's pages of q (its cursor is used and reset) until
 * limit records (0 = all) went to row. *more says whether the server had
 * more. Returns 0 or an exit code (after saying why).
 */
static int list_pages(struct cli *x, struct client *c, Coachq__V1__ListObservations *q,
                      unsigned long limit, list_row_cb row, void *arg, int *more)
{
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;
    uint8_t *cursor = NULL;
    size_t done = 0;
    int rc;

    *more = 0;
    for (;;) {
        size_t want = limit == 0 ? LIST_PAGE_MAX : limit - done;

        q->page_size = (uint32_t)(want < LIST_PAGE_MAX ? want : LIST_PAGE_MAX);
        rc = client_list(c, q, &page, &e);
        if (rc < 0) {
            rc = cli_request_failed(x, rc, &e);
            goto out;
        }
        for (size_t i = 0; i < page->n_observations && (limit == 0 || done < limit); i++) {
            rc = row(x, page->observations[i], arg);
            if (rc != 0) {
                goto out;
            }
            done++;
        }
        *more = page->next_cursor.len > 0;
        if (!*more || (limit != 0 && done >= limit)) {
            break;
        }
        /* The cursor must outlive the page it came from. */
        free(cursor);
        cursor = malloc(page->next_cursor.len);
        if (cursor == NULL) {
            cli_msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        memcpy(cursor, page->next_cursor.data, page->next_cursor.len);
        q->cursor.data = cursor;
        q->cursor.len = page->next_cursor.len;
        coachq__v1__observation_page__free_unpacked(page, NULL);
        page = NULL;
    }
    rc = 0;
out:
    coachq__v1__observation_page__free_unpacked(page, NULL);
    free(cursor);
    q->cursor.data = NULL;
    q->cursor.len = 0;
    return rc;
}

/* What `coachq list` prints into: a JSON array, or the table when all is
 * NULL. */
struct list_out {
    json_t *all;
    size_t printed;
};

static int list_print_cb(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg)
{
    struct list_out *lo = arg;

    if (lo->all == NULL) {
        print_row(x->out, s);
    } else if (json_array_append_new(lo->all, obs_json_from_stored(s)) < 0) {
        cli_msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    lo->printed++;
    return 0;
}

int cli_cmd_list(struct cli *x, int argc, char **argv)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    struct client *c = NULL;
    struct list_out lo = {NULL, 0};
    unsigned long limit = DEFAULT_LIST_LIMIT;
    int json = 0;
    int more = 0;
    int rc;
    int opt;

    for (;;) {
        rc = cli_next_option(x, argc, argv, &cli_doc_list, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case OPT_COACH:
        case OPT_OBSERVER:
        case OPT_COACHEE:
            if (q.by != COACHQ__V1__LIST_BY__LIST_BY_UNSPECIFIED) {
                return cli_usage(x, "give only one of --coach, --observer, --coachee");
            }
            q.by = opt == OPT_COACH      ? COACHQ__V1__LIST_BY__LIST_BY_COACH
                   : opt == OPT_OBSERVER ? COACHQ__V1__LIST_BY__LIST_BY_OBSERVER
                                         : COACHQ__V1__LIST_BY__LIST_BY_COACHEE;
            q.person_id = optarg;
            break;
        case OPT_SINCE:
            if (parse_when(optarg, 0, &q.since) < 0) {
                return cli_usage(x,
                                 "--since: '%s' is not a date (2026-11-02) or UTC time "
                                 "(2026-11-02T14:30:00Z)",
                                 optarg);
            }
            break;
        case OPT_UNTIL:
            if (parse_when(optarg, 1, &q.until) < 0) {
                return cli_usage(x,
                                 "--until: '%s' is not a date (2026-11-02) or UTC time "
                                 "(2026-11-02T14:30:00Z)",
                                 optarg);
            }
            break;
        case OPT_LIMIT:
            if (cli_parse_ulong(optarg, 0, 100000000, &limit) < 0) {
                return cli_usage(x, "--limit: '%s' is not a number", optarg);
            }
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return cli_bad_option(x, argc, argv);
        }
    }
    if (optind < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind]);
    }
    if (q.by == COACHQ__V1__LIST_BY__LIST_BY_UNSPECIFIED) {
        return cli_usage(x, "say whose observations: --coach ID, --observer ID or --coachee ID");
    }
    if (q.since != 0 && q.until != 0 && q.until <= q.since) {
        return cli_usage(x, "--until must be after --since");
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    if (json) {
        lo.all = json_array();
        if (lo.all == NULL) {
            cli_msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    } else {
        fprintf(x->out, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3s\n", "STARTED_AT",
                "UUID", "COACH", "COACHEE", "OBSERVER", "RUBRIC", "MEAN", "N");
    }
    rc = list_pages(x, c, &q, limit, list_print_cb, &lo, &more);
    if (rc != 0) {
        goto out;
    }
    if (json) {
        rc = cli_print_json(x, lo.all);
    } else {
        fprintf(x->out, "%zu observation%s%s\n", lo.printed, str_plural(lo.printed, "", "s"),
                more ? " (more: raise --limit, or 0 for all)" : "");
    }
out:
    json_decref(lo.all);
    client_free(c);
    return rc;
}

/* ---- history ------------------------------------------------------------- */

int cli_cmd_history(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__ObservationHistory *h = NULL;
    struct client_error e;
    json_t *all = NULL;
    uint8_t id[UUID_LEN];
    int json = 0;
    int rc = cli_id_options(x, argc, argv, &cli_doc_history, &json, id);

    if (rc >= 0) {
        return rc;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_history(c, id, &h, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (h->n_versions == 0) {
        cli_msg(x, "%s: no version of this observation is visible to you", argv[optind]);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = CLI_EXIT_FAILED;
    if (json) {
        all = json_array();
        if (all == NULL) {
            cli_msg(x, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < h->n_versions; i++) {
            if (json_array_append_new(all, obs_json_from_stored(h->versions[i])) < 0) {
                cli_msg(x, "out of memory");
                goto out;
            }
        }
        rc = cli_print_json(x, all);
    } else {
        fprintf(x->out, "%zu version%s, oldest first\n", h->n_versions,
                str_plural(h->n_versions, "", "s"));
        for (size_t i = 0; i < h->n_versions; i++) {
            fputc('\n', x->out);
            print_record(x->out, h->versions[i]);
        }
        rc = CLI_EXIT_OK;
    }
out:
    json_decref(all);
    coachq__v1__observation_history__free_unpacked(h, NULL);
    client_free(c);
    return rc;
}

/* ---- mine ---------------------------------------------------------------- */

/* How far back `coachq mine` looks without --since, and how many stored
 * records it shows at most. */
#define MINE_DAYS 90
#define MINE_MAX 2000

/* The server lists a person's records oldest session first: putting each
 * in front of the ones before turns the list newest first. */
static int mine_keep_cb(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg)
{
    json_t *all = arg;

    if (json_array_insert_new(all, 0, obs_json_from_stored(s)) < 0) {
        cli_msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static void mine_header(FILE *f)
{
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-24s  %s\n", "STARTED_AT", "UUID", "COACH", "COACHEE",
            "RUBRIC", "STATUS");
}

static void mine_row(FILE *f, const char *started, const char *id, const char *coach,
                     const char *coachee, const char *rubric, unsigned rubric_version,
                     const char *status)
{
    char r[96];

    snprintf(r, sizeof(r), "%s v%u", rubric, rubric_version);
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-24s  %s\n", started, id, coach, coachee, r, status);
}

static const char *json_str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v != NULL ? v : "-";
}

/* A stored record's row (from its JSON, obs_json_from_stored()): its
 * version, whether a later one replaced it, and what it amends. */
static void mine_stored_row(FILE *f, const json_t *o)
{
    char status[160];
    json_int_t version = json_integer_value(json_object_get(o, "version"));
    int n =
        snprintf(status, sizeof(status), "stored v%lld, %s", (long long)(version > 0 ? version : 1),
                 json_is_true(json_object_get(o, "superseded")) ? "superseded by a later version"
                                                                : "current");

    if (version > 1 && json_object_get(o, "amends") != NULL && n > 0 &&
        (size_t)n < sizeof(status)) {
        snprintf(status + n, sizeof(status) - (size_t)n, ", amends %s", json_str(o, "amends"));
    }
    mine_row(f, json_str(o, "started_at"), json_str(o, "id"), json_str(o, "coach"),
             json_str(o, "coachee"), json_str(o, "rubric"),
             (unsigned)json_integer_value(json_object_get(o, "rubric_version")), status);
}

/* An outbox entry's row in `mine`. */
static void mine_entry_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    const Coachq__V1__Observation *o = e->observation;
    char status[800];
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];

    snprintf(status, sizeof(status), "%s: %s", cli_entry_is_rejected(e) ? "rejected" : "queued",
             why);
    day_format_time(o->started_at, t, sizeof(t));
    mine_row(f, t, cli_obs_id(o, id), o->coach_id, o->coachee_id, o->rubric_id, o->rubric_version,
             status);
}

/* Fetches the caller's records since since into all (as JSON, newest
 * first). Returns 0 or an exit code (after saying why). */
static int mine_fetch(struct cli *x, struct client *c, int64_t since, json_t *all, int *more)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;

    q.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
    q.person_id = client_welcome(c)->user_id;
    q.since = since;
    return list_pages(x, c, &q, MINE_MAX, mine_keep_cb, all, more);
}

struct mine_args {
    int64_t since;
    int json;
};

static int take_mine_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct mine_args *a = arg;

    if (opt == OPT_JSON) {
        a->json = 1;
        return 1;
    }
    if (opt != OPT_SINCE) {
        return 0;
    }
    if (parse_when(val, 0, &a->since) < 0) {
        cli_usage(x, "--since: '%s' is not a date (2026-11-02) or UTC time (2026-11-02T14:30:00Z)",
                  val);
        return -CLI_EXIT_USAGE;
    }
    return 1;
}

/* Prints the outbox part of `mine` (into out when JSON). Returns 0 or an
 * exit code. */
static int mine_outbox(struct cli *x, json_t *out, size_t *n)
{
    struct localstore *ls = NULL;
    struct cli_queue_walk w = {x, NULL, mine_entry_row, 0, 0};
    int rc = cli_open_store(x, &ls);

    if (rc != 0) {
        return rc;
    }
    if (out != NULL) {
        w.all = json_array();
        if (w.all == NULL || json_object_set(out, "outbox", w.all) < 0) {
            cli_msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
        }
    }
    if (rc == 0) {
        rc = cli_queue_walk(ls, &w);
    }
    *n = w.queued + w.rejected;
    json_decref(w.all);
    localstore_close(ls);
    return rc;
}

int cli_cmd_mine(struct cli *x, int argc, char **argv)
{
    struct mine_args a = {(int64_t)time(NULL) - MINE_DAYS * 86400, 0};
    struct client *c = NULL;
    struct client_error e;
    json_t *stored = NULL;
    json_t *root = NULL;
    char since[DAY_TIME_LEN];
    size_t queued = 0;
    int more = 0;
    int orc;
    int rc = cli_parse_options(x, argc, argv, &cli_doc_mine, take_mine_option, &a);

    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind]);
    }
    rc = cli_try_connect(x, 0, &c, &e);
    if (rc == CLI_EXIT_USAGE) {
        return rc;
    }
    stored = json_array();
    root = a.json ? json_object() : NULL;
    if (stored == NULL || (a.json && root == NULL)) {
        cli_msg(x, "out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (rc == CLI_EXIT_CONNECT) {
        cli_msg(x, "%s; only your outbox is listed", e.message);
    } else {
        rc = mine_fetch(x, c, a.since, stored, &more);
    }
    if (a.json && json_object_set(root, "stored", c != NULL ? stored : json_null()) < 0) {
        cli_msg(x, "out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (!a.json) {
        mine_header(x->out);
        for (size_t i = 0; i < json_array_size(stored); i++) {
            mine_stored_row(x->out, json_array_get(stored, i));
        }
    }
    orc = mine_outbox(x, root, &queued);
    rc = rc != 0 ? rc : orc;
    if (a.json) {
        orc = cli_print_json(x, root);
        rc = rc != 0 ? rc : orc;
    } else {
        day_format_time(a.since, since, sizeof(since));
        if (c == NULL) {
            /* Offline nothing says how many the server holds: not 0. */
            fprintf(x->out, "stored since %s: unknown (offline), %zu in the outbox\n", since,
                    queued);
        } else {
            fprintf(x->out, "%zu stored since %s%s, %zu in the outbox\n", json_array_size(stored),
                    since, more ? " (more: give a later --since)" : "", queued);
        }
    }
out:
    json_decref(stored);
    json_decref(root);
    client_free(c);
    return rc;
}
