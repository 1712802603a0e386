/*
 * cli_doc: every coachq command's documentation as one table each (its
 * usage, description, options and exit status), and the two things made
 * from those tables: a command's --help, and the man page coachq(1)
 * (`coachq --help-man`, run by the build). cli_next_option() builds
 * getopt_long()'s options from the same tables, so an option cannot be
 * accepted without being documented, nor documented without being
 * accepted.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "helpdoc.h"

#define HELP_COL 22
#define HELP_WIDTH 100

/* ---- The options every command takes ------------------------------------ */

const struct cli_opt cli_common_opts[] = {
    {"server", OPT_SERVER, "HOST:PORT",
     "coachqd's protocol port (COACHQ_SERVER; default " DEFAULT_SERVER ")"},
    {"cert", OPT_CERT, "FILE",
     "your user certificate, PEM (COACHQ_CERT; default " DEFAULT_CERT ")"},
    {"key", OPT_KEY, "FILE", "its private key, PEM (COACHQ_KEY; default " DEFAULT_KEY ")"},
    {"ca", OPT_CA, "FILE", "the deployment CA, PEM (COACHQ_CA; default " DEFAULT_CA ")"},
    {"timeout", OPT_TIMEOUT, "SECONDS",
     "give up when the server makes no progress for this long (30)"},
    {"data-dir", OPT_DATA_DIR, "DIR",
     "the local store: outbox, saved session, cached rubrics (flag > COACHQ_DATA_DIR > "
     "$XDG_DATA_HOME/coachq > ~/.local/share/coachq; not read from the config file)"},
    {"help", 'h', NULL, "show this help"},
    {NULL, 0, NULL, NULL},
};

static const char common_title[] =
    "Connection options (flag > environment > config file > default):";
static const char common_title_main[] =
    "Connection options (also after COMMAND; flag > environment > config file > default):";
static const char config_text[] =
    "The config file is $COACHQ_CONFIG, or $XDG_CONFIG_HOME/coachq/config, or\n"
    "~/.config/coachq/config, with lines like \"server = coachq.example.com:7443\"\n"
    "(keys: server, cert, key, ca; '#' starts a comment).\n";

/* ---- The commands ----------------------------------------------------------- */

static const struct cli_opt opts_none[] = {{NULL, 0, NULL, NULL}};

static const struct cli_opt opts_main[] = {
    {"version", OPT_VERSION, NULL, "print the version"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_main = {
    "",
    "",
    "",
    "[OPTIONS] COMMAND [ARGS]",
    "The coachq client: submit coaching observations to coachqd and query them.\n",
    opts_main,
    "Exit status: 0 success, 1 a record or request failed, 2 usage,\n"
    "3 connection or TLS failure.\n",
};

static const struct cli_opt opts_observe[] = {
    {"rubric", OPT_RUBRIC, "ID[@V]", "the rubric, and its version (default the latest)"},
    {"coach", OPT_COACH, "ID", "the manager observed"},
    {"coachee", OPT_COACHEE, "ID", "the rep"},
    {"type", OPT_TYPE, "TYPE",
     "deal_review, call_review, pipeline_review, account_plan, skill_practice or "
     "personal_check_in"},
    {"focus", OPT_FOCUS, "FOCUS", "process, skill or human"},
    {"resume", OPT_RESUME, NULL, "continue the session saved in the local store"},
    {"fix", OPT_FIX, "ID",
     "open an outbox entry the server rejected, to correct and resubmit it (see 'coachq queue "
     "list')"},
    {"recording", OPT_RECORDING, "REF",
     "score from a recording: its http(s) URL or CRM call id (never fetched); the clock is the "
     "recording's position"},
    {"length", OPT_LENGTH, "MM:SS", "the recording's length (with --recording; or H:MM:SS)"},
    {"assignment", OPT_ASSIGNMENT, "ID",
     "start from one of your assignments ('coachq assignments'): its manager and rubric, and "
     "the observation fulfils it"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_observe = {
    "observe",
    "observe",
    "score a live session in the terminal (saved as you type)",
    "[OPTIONS]",
    "Scores a live coaching session in a full-screen terminal UI (80x24 or more):\n"
    "setup (rubric, coach, coachee, session type, focus, live or a recording), the\n"
    "live phase (a clock and one key per marker), the ratings, the follow-up of\n"
    "the pair's open actions from earlier sessions, the agreed actions (owner, due\n"
    "date, focus), then review and submit. Every keystroke is saved to the local\n"
    "store as it happens, so a session survives a crash: continue it with\n"
    "--resume. A finished observation goes to the outbox and is sent at once when\n"
    "the server can be reached; if not, at the next start or by 'coachq queue\n"
    "flush'. The outbox is sent first whenever the UI starts (one line says what\n"
    "became of it). Press ? in the UI for the keys. The setup asks for what the\n"
    "options do not give.\n"
    "\n"
    "With --recording REF --length MM:SS the session is scored from a recording\n"
    "(asynchronous call review): the clock is the position in the recording, which\n"
    "the observer sets with Left/Right (5 s), [ and ] (30 s) and g (go to mm:ss);\n"
    "markers land at that position, the clock stops at the recording's end, and\n"
    "--resume brings the session back paused where the last save left it. The same\n"
    "choice, with the reference and length checked as the server checks them, is\n"
    "the setup's last step whenever the setup asks anything else.\n",
    opts_observe,
    "Exit status: 0 stored or queued, 1 refused (kept in the outbox) or quit with\n"
    "the session saved, 2 usage (also: nothing to resume, no such outbox entry),\n"
    "3 the local store failed. A terminal smaller than 80x24 shows a message until\n"
    "it grows.\n",
};

const struct cli_doc cli_doc_amend = {
    "amend",
    "amend ID",
    "correct one of your observations (a new version)",
    "[OPTIONS] ID",
    "Corrects one of your stored observations: opens the UI of 'coachq observe' on\n"
    "a copy of it, at the ratings. Submitting stores a new version that amends it\n"
    "(with its own id); the original is kept, marked superseded ('coachq history\n"
    "ID' shows every version). Only the observer may amend an observation, and\n"
    "only within the amendment window the server enforces.\n",
    opts_none,
    "Exit status: 0 stored or queued, 1 not yours, not found or refused,\n"
    "2 usage, 3 connection failure (the original is fetched from the server).\n",
};

static const struct cli_opt opts_mine[] = {
    {"since", OPT_SINCE, "WHEN",
     "sessions that started at or after WHEN (2026-11-02 or 2026-11-02T14:30:00Z, UTC; default: "
     "the last 90 days)"},
    {"json", OPT_JSON, NULL,
     "print {\"stored\": [...], \"outbox\": [...]}: records as 'coachq get --json' prints them, "
     "entries as 'coachq queue list --json' (\"stored\" is null when offline)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_mine = {
    "mine",
    "mine",
    "your recent observations and what waits in your outbox",
    "[OPTIONS]",
    "Lists your observations, newest session first: those the server stored\n"
    "(with their version: \"stored v1, current\", \"stored v1, superseded by a\n"
    "later version\" when amended, \"stored v2, current, amends <uuid>\"), then\n"
    "those still in your outbox (\"queued: why\" or \"rejected: CODE field:\n"
    "message\"; see 'coachq queue'). When the server cannot be reached, only the\n"
    "outbox is listed.\n",
    opts_mine,
    "Exit status: 0 success, 1 refused or the local store failed, 2 usage, 3 the\n"
    "server was unreachable (the outbox is still listed).\n",
};

static const struct cli_opt opts_queue[] = {
    {"json", OPT_JSON, NULL, "(list, show) print JSON"},
    {"rejected", OPT_REJECTED, NULL,
     "(flush) send the rejected entries again too, e.g. after the organisation's data was "
     "corrected"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_queue = {
    "queue",
    "queue list|flush|show ID|discard ID",
    "the outbox: observations waiting for the server",
    "list [--json] [OPTIONS]\n"
    "flush [--rejected] [OPTIONS]\n"
    "show [--json] [OPTIONS] ID\n"
    "discard [OPTIONS] ID",
    "The outbox: finished observations waiting for the server, kept in the local\n"
    "store (--data-dir) until the server has stored them or you discard them. An\n"
    "entry keeps its UUID through every retry, so the server stores it once\n"
    "however often it is sent.\n"
    "  list      every entry, oldest first: id, coach, coachee, session date, state\n"
    "            (queued: to be sent; rejected: the server refused it), attempts,\n"
    "            and why it waits (the last error: code, field and message, or\n"
    "            \"not sent yet\")\n"
    "  flush     sends the queued entries over one connection, prints\n"
    "            \"stored=N duplicate=N rejected=N waiting=N\" and then every rejected\n"
    "            entry with its error: \"<uuid> REJECTED CODE field: message\"\n"
    "  show      one entry: its state and why, then the observation (--json: the\n"
    "            observation alone, in the format 'coachq submit' reads)\n"
    "  discard   removes one entry for good\n"
    "Entries also go out at the start of 'coachq observe'.\n",
    opts_queue,
    "Exit status: 0 success (flush: the outbox is empty now), 1 rejected entries\n"
    "remain (flush), no such entry or the local store failed, 2 usage, 3 the\n"
    "server was unreachable or refused this user (flush: the entries stay queued).\n",
};

static const struct cli_opt opts_submit[] = {
    {"no-write-ids", OPT_NO_WRITE_IDS, NULL,
     "do not rewrite files (a retry then stores records again)"},
    {"window", OPT_WINDOW, "N", "requests in flight at once (default 64)"},
    {"quiet", 'q', NULL, "print only errors and the summary, no progress"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_submit = {
    "submit",
    "submit FILE...",
    "send observations from JSON files (- = standard input); queued in the outbox when the "
    "server is unreachable",
    "[OPTIONS] FILE...",
    "Sends observations to coachqd. Each FILE (or - for standard input) holds one\n"
    "JSON observation or an array of them (format: docs/observation-json.md).\n"
    "Every file is read and checked first; if any record has an error, nothing is\n"
    "sent. Records are then pipelined over one connection, and one line is printed\n"
    "per record: \"<uuid> STORED seq=N\", \"<uuid> DUPLICATE seq=N\" or\n"
    "\"<uuid> ERROR CODE field: message\", then \"stored=N duplicate=N failed=N\".\n"
    "An amendment (a record with \"amends\": the original's id, and an id of its\n"
    "own) adds its version: \"<uuid> STORED seq=N version=2\".\n"
    "\n"
    "A record without an \"id\" gets a fresh UUID, and the FILE IS REWRITTEN with\n"
    "the new ids (through a temporary file in the same directory, indent 2) before\n"
    "anything is sent, so that submitting the same file again is answered\n"
    "DUPLICATE instead of storing the records twice. Standard input is never\n"
    "rewritten: give ids there yourself if you may retry.\n"
    "\n"
    "When the server cannot be reached (or the connection fails before every\n"
    "answer), the records without an answer go to the outbox of the local store\n"
    "(--data-dir), with their ids and the reason: \"<uuid> QUEUED (server\n"
    "unreachable: ...): coachq queue flush sends it\", or \"QUEUED (the server\n"
    "refused you: ...)\" when the server refused this user (disabled, unknown\n"
    "certificate); the summary adds \"queued=N\".\n",
    opts_submit,
    "Exit status: 0 all stored or duplicate, 1 some record failed or input had\n"
    "errors, 2 usage, 3 connection or TLS failure, or the server refused this\n"
    "user (the records are queued).\n",
};

static const struct cli_opt opts_json[] = {
    {"json", OPT_JSON, NULL, "print JSON"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_get = {
    "get",
    "get ID",
    "print one observation",
    "[OPTIONS] ID",
    "Prints one observation, by its UUID, as text or (--json) as JSON in the\n"
    "format of docs/observation-json.md plus seq, received_at and observer.\n",
    opts_json,
    "Exit status: 0 found, 1 not found or refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_history[] = {
    {"json", OPT_JSON, NULL,
     "print a JSON array of the versions (the format of 'get --json', with version, root_id and "
     "superseded)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_history = {
    "history",
    "history ID",
    "print every version of an observation (amendments)",
    "[OPTIONS] ID",
    "Prints every version of an observation, oldest first: the original and its\n"
    "amendments. ID may be any version's UUID. Each version is printed as 'coachq\n"
    "get' prints a record, with its version number and whether it is current or\n"
    "superseded by a later version. Versions you may not read are left out.\n",
    opts_history,
    "Exit status: 0 found, 1 not found or refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_list[] = {
    {"coach", OPT_COACH, "ID", "sessions where ID was the coach (the manager)"},
    {"observer", OPT_OBSERVER, "ID", "sessions that ID scored"},
    {"coachee", OPT_COACHEE, "ID", "sessions where ID was the coachee (the rep)"},
    {"since", OPT_SINCE, "WHEN",
     "sessions that started at or after WHEN (2026-11-02 or 2026-11-02T14:30:00Z, UTC)"},
    {"until", OPT_UNTIL, "WHEN",
     "sessions that started before WHEN; a date alone means up to the end of that day"},
    {"limit", OPT_LIMIT, "N", "print at most N records (default 50; 0 = all)"},
    {"json", OPT_JSON, NULL, "print a JSON array of records instead of the table"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_list = {
    "list",
    "list --coach ID",
    "list observations (also --observer, --coachee)",
    "(--coach ID | --observer ID | --coachee ID) [OPTIONS]",
    "Lists observations of one person, oldest session first, following the\n"
    "server's pages until --limit records were printed. Columns: started_at,\n"
    "uuid, coach, coachee, observer, rubric, mean score (n/a ratings excluded),\n"
    "n ratings.\n",
    opts_list,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_rubrics[] = {
    {"json", OPT_JSON, NULL, "(show only) print the rubric in the file format of docs/rubrics.md"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_rubrics = {
    "rubrics",
    "rubrics [show ID]",
    "list the rubrics, or print one in full (cached offline)",
    "[OPTIONS]\n"
    "show [OPTIONS] ID[@VERSION]",
    "Without a subcommand, lists the rubrics on the server, the latest version of\n"
    "each: id, version, number of behaviours, effective date and name.\n"
    "'show' prints one rubric version in full (the latest without @VERSION): the\n"
    "scores that need an evidence note, then each behaviour's id, name,\n"
    "definition, indicators, the anchors of scores 1 to 4, and whether it may be\n"
    "rated n/a. (A rubric id that itself ends in @ and digits needs @VERSION.)\n"
    "\n"
    "Every rubric fetched is kept in the local store (--data-dir). When the server\n"
    "cannot be reached, both forms answer from there, saying so on standard error:\n"
    "\"(offline: cached rubrics from DIR)\".\n",
    opts_rubrics,
    "Exit status: 0 success (also from the cache), 1 not found or refused, 2 usage,\n"
    "3 connection failure and nothing cached.\n",
};

static const struct cli_opt opts_cert[] = {
    {"json", OPT_JSON, NULL,
     "print JSON: {\"observer\", \"certifications\": [...], \"results\": [...]}; figures are "
     "fractions 0..1 (null when there are none), days \"YYYY-MM-DD\", status \"valid\", "
     "\"expired\" or \"not_yet_valid\""},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_cert = {
    "cert",
    "cert status [ID]",
    "print an observer's certifications and calibration results",
    "status [OPTIONS] [OBSERVER]",
    "Prints an observer's certifications and calibration results (yours without\n"
    "OBSERVER; others' need the right to see them).\n"
    "Certifications: rubric, first and last valid day, whether it is valid today,\n"
    "expired or not yet valid, who granted it (\"calibration\" or an\n"
    "administrator), and the calibration's figures: n rating pairs, exact\n"
    "agreement, agreement within one point and weighted kappa (\"undef\" when the\n"
    "scores compared use one category: exact agreement alone decided).\n"
    "Calibration results: when, rubric, reference sessions scored, n, the same\n"
    "figures, and passed or why not.\n"
    "An observer reading their own status sees whether they passed, which attempt\n"
    "it was and when the next attempt at that reference is possible, never the\n"
    "figures: those go to enablement leads and administrators.\n",
    opts_cert,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_reference[] = {
    {"no-write-ids", OPT_NO_WRITE_IDS, NULL,
     "do not rewrite FILE (a retry then registers it again)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_reference = {
    "reference",
    "reference add|retire",
    "register or retire a calibration reference session",
    "add [OPTIONS] FILE\nretire ID",
    "Registers a calibration reference session: a session master coders scored,\n"
    "which observers then score to be certified (enablement leads and\n"
    "administrators only). FILE (or - for standard input) holds one JSON object:\n"
    "  {\"id\": \"<uuid>\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,\n"
    "   \"title\": \"Deal review, recorded 2026-10-14\",\n"
    "   \"master\": [{\"behaviour\": \"collaborative\", \"score\": 3}, ...]}\n"
    "with one master rating per behaviour of the rubric (format:\n"
    "docs/observation-json.md). Prints \"<uuid> STORED\": observers name that id as\n"
    "\"calibration_ref\" in their attempts.\n"
    "\n"
    "Without an \"id\", the reference gets a fresh UUID and the FILE IS REWRITTEN\n"
    "with it (through a temporary file, indent 2) before anything is sent, so that\n"
    "running the command again registers the same reference instead of a second\n"
    "one. Standard input is never rewritten.\n"
    "\n"
    "retire ID retires the reference session ID (enablement leads and\n"
    "administrators): it takes no more attempts, refused naming calibration_ref,\n"
    "and 'coachq calibrate' no longer lists it; the results scored on it stay.\n"
    "Prints \"<uuid> RETIRED\" (again for one already retired).\n",
    opts_reference,
    "Exit status: 0 stored or retired, 1 refused, not found or the file has errors,\n"
    "2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_dashboard[] = {
    {"rubric", OPT_RUBRIC, "ID", "the rubric (default coaching-conversation)"},
    {"until", OPT_UNTIL, "YYYY-MM-DD",
     "the last week covered: up to the Sunday of that day's ISO week (default this week)"},
    {"json", OPT_JSON, NULL, "print the dashboard as JSON (docs/dashboards.md)"},
    {"csv", OPT_CSV, "TABLE",
     "print one table as CSV (RFC 4180, CRLF); TABLE is its id, as in the JSON's \"tables\""},
    {"width", OPT_WIDTH, "N",
     "terminal tables fit N columns (default: the terminal's width, or 100): a wide table is "
     "split into parts or pivoted, never cut"},
    {"not-coached-weeks", OPT_NOT_COACHED, "N",
     "cadence: count reps not coached in the last N weeks, 1..52 (default 4)"},
    {"assigned-only", OPT_ASSIGNED_ONLY, NULL,
     "programme, observers: every figure from the observations that fulfilled an assignment "
     "only, the unbiased sample"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_dashboard = {
    "dashboard",
    "dashboard KIND [ID]",
    "print a dashboard: managers, manager, programme, observers, me, coaching, observer (also "
    "--json, "
    "or --csv TABLE)",
    "KIND [SUBJECT] [OPTIONS]",
    "Prints a dashboard as the server computes it for you: the same figures as\n"
    "the web pages and the /api/v1 JSON and CSV. KIND is one of\n"
    "  managers [SLM]   My managers: per front-line manager the quality trend beside\n"
    "                   their inputs, the behaviour heat-map, volume vs quality,\n"
    "                   actions (second-level managers; leads and administrators\n"
    "                   name the SLM)\n"
    "  manager FLM      Manager detail: per behaviour over weeks, markers, recent\n"
    "                   observations (the manager, the managers above them, leads)\n"
    "  programme        Programme impact: quality before and after training against\n"
    "                   the not-yet-trained, attendance beside quality, outcomes\n"
    "                   (enablement leads, administrators)\n"
    "  observers [OBS]  Observer reliability: certification, calibration agreement,\n"
    "                   double coding, severity drift, coverage (leads, administrators);\n"
    "                   with OBS, that observer's calibration history\n"
    "  me [FLM]         My coaching: your own trend and what to focus on next\n"
    "  coaching [SLM]   Coaching my managers: a second-level manager's sessions coaching\n"
    "                   their front-line managers beside their line's coaching, and\n"
    "                   whether well-coached managers coach better later\n"
    "  observer [OBS]   My reliability: an observer's own certification, calibration\n"
    "                   (pass or fail), drift against the other observers week by\n"
    "                   week, sessions, managers and lines observed (the observer;\n"
    "                   leads and administrators name the OBS)\n"
    "Without SUBJECT the dashboard is about you. Every figure shows its n; below\n"
    "the server's minimum n it reads \"insufficient data\", never a number.\n",
    opts_dashboard,
    "Exit status: 0 success, 1 refused or not found, 2 usage, 3 connection failure.\n",
};

const struct cli_doc cli_doc_outcomes = {
    "outcomes",
    "outcomes import FILE.csv",
    "import business results (leads, administrators)",
    "import [OPTIONS] FILE.csv",
    "Imports business results from the CRM or another system of record\n"
    "(enablement leads and administrators). FILE (- for standard input) is CSV\n"
    "with the header\n"
    "  subject_id,team,period,metric,value\n"
    "subject_id: a person (a rep, or a manager); team: yes when the figure is for\n"
    "the manager's whole team (else no or empty); period: a month 2026-09 or a\n"
    "quarter 2026-Q3; metric: win_rate, pipeline_coverage, quota_attainment,\n"
    "crm_completeness, sessions_held or your own [a-z0-9_] name; value: a number.\n"
    "\n"
    "The file is checked whole before anything is sent; every bad cell is\n"
    "reported as FILE:LINE:COL. Rows go in chunks that fit the server's frame\n"
    "limit, each stored in its own transaction. A row replaces the value of its\n"
    "(subject, team, period, metric), so importing a file again is harmless: after\n"
    "a failure, fix the file and run the command again.\n"
    "Prints how many rows were added, changed and unchanged.\n",
    opts_none,
    "Exit status: 0 imported, 1 refused or the file has errors, 2 usage,\n"
    "3 connection failure.\n",
};

static const struct cli_opt opts_export[] = {
    {"format", OPT_FORMAT, "csv|ndjson", "the output format (required)"},
    {"since", OPT_SINCE, "DATE",
     "only sessions that started on or after DATE (YYYY-MM-DD, UTC) or a UTC time "
     "(2026-11-02T14:30:00Z)"},
    {"after", OPT_AFTER, "SEQ",
     "only records after sequence number SEQ (resume an export from the last seq you kept)"},
    {"output", 'o', "FILE",
     "write to FILE (through FILE.part, renamed when complete) instead of standard output"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_export = {
    "export",
    "export observations --format csv|ndjson",
    "export every record (leads, administrators)",
    "observations --format csv|ndjson [--since DATE | --after SEQ] [-o FILE] [OPTIONS]",
    "Exports every observation record (each version of each observation, in the\n"
    "server's sequence order) for enablement leads and administrators, in the flat\n"
    "schema of the change feed (docs/operations.md, \"API tokens and the change\n"
    "feed\"). With a terminal on standard error it draws its progress there.\n",
    opts_export,
    "Exit status: 0 exported, 1 refused or failed (FILE is not written), 2 usage,\n"
    "3 connection or TLS failure.\n",
};

static const struct cli_opt opts_actions[] = {
    {"coach", OPT_COACH, "ID", "actions that ID (a front-line manager) agreed as coach"},
    {"coachee", OPT_COACHEE, "ID", "actions agreed with ID (a rep)"},
    {"line", OPT_LINE, "ID", "actions of every coach in ID's line today (a manager)"},
    {"open", OPT_OPEN, NULL, "only actions not yet done or dropped"},
    {"overdue", OPT_OVERDUE, NULL, "only open actions whose due date has passed"},
    {"json", OPT_JSON, NULL, "print a JSON array of action records with their history"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_actions = {
    "actions",
    "actions [--coach ID|--coachee ID|--line ID]",
    "list agreed actions and their follow-up status",
    "[--coach ID | --coachee ID | --line ID] [--open] [--overdue] [--json] [OPTIONS]",
    "Lists the actions agreed at the end of coaching sessions, each with its\n"
    "status (open, done, partly done, not done, dropped) from the follow-ups of\n"
    "later sessions of the same coach and coachee (docs/observation-json.md,\n"
    "\"Actions and follow-ups\"). Without --coach, --coachee or --line: your own\n"
    "coaching (front-line managers) or your line (second-level managers).\n"
    "Open actions come first, then by the session that agreed them. You see the\n"
    "actions of sessions you scored, of your own coaching, or of your line;\n"
    "enablement leads and administrators see all. Columns: id, agreed on, coach,\n"
    "coachee, status, due date, text (\"[overdue]\" when the due date passed).\n"
    "One answer lists at most 500 actions and reads at most 1,000 records,\n"
    "those you may not see included; a cut list says so: narrow it. The\n"
    "overdue actions of a coach or a line come most overdue first, read\n"
    "from the index of open actions by due date.\n",
    opts_actions,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_sessions[] = {
    {"dry-run", OPT_DRY_RUN, NULL, "check every row against the store; import nothing"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_sessions = {
    "sessions",
    "sessions import FILE.csv [--dry-run]",
    "import coaching sessions held (leads, administrators)",
    "import [--dry-run] [OPTIONS] FILE.csv",
    "Imports coaching sessions held, for cadence (docs/dashboards.md, \"Cadence\n"
    "and commitment\"), as `coachqd import sessions` does on the server's machine\n"
    "(enablement leads and administrators). FILE (- for standard input) is CSV\n"
    "with the header\n"
    "  coach_id,coachee_id,date[,minutes]\n"
    "one row per coach, rep and day: coach_id a front-line manager, coachee_id a\n"
    "rep who reported to them on that day, date YYYY-MM-DD (not in the future),\n"
    "minutes a whole number 0..1440 (empty or 0: not known).\n"
    "\n"
    "The whole file goes in one request and is stored in one transaction: any\n"
    "bad row (an unknown person, a rep outside the coach's line on that day, a\n"
    "bad date, a pair's day given twice or already imported) refuses the file\n"
    "and nothing is imported. Every refused cell is reported as FILE:LINE:COL,\n"
    "naming its column. The file must fit the server's frame limit (coachq\n"
    "whoami shows it; coachqd --max-frame): split a larger file into several.\n"
    "Prints how many sessions held were added.\n",
    opts_sessions,
    "Exit status: 0 imported (or checked, with --dry-run), 1 refused or the file\n"
    "has errors, 2 usage, 3 connection failure.\n",
};

const struct cli_doc cli_doc_stats = {
    "stats",
    "stats",
    "print the server's counters",
    "[OPTIONS]",
    "Prints the server's counters (commits, records, group-commit batch sizes,\n"
    "commit latency, connections).\n",
    opts_none,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

const struct cli_doc cli_doc_whoami = {
    "whoami",
    "whoami",
    "print your user id and roles as the server sees them",
    "[OPTIONS]",
    "Connects and prints who the server thinks you are (the user id from your\n"
    "certificate and your roles), and the server's version and limits. For an\n"
    "observer, each certification that ends within 30 days (counted from\n"
    "today's UTC day): \"note\", or \"WARNING\" at 7 days or fewer.\n",
    opts_none,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_calibrate[] = {
    {"list", OPT_LIST, NULL, "print the reference sessions you may attempt, and stop"},
    {"result", OPT_RESULT, NULL,
     "show your latest attempt at REFERENCE in full (spends the reference, as after an "
     "attempt)"},
    {"history", OPT_HISTORY, NULL,
     "print the calibration history of OBSERVER (yours without; others' need the right to "
     "see them)"},
    {"json", OPT_JSON, NULL,
     "print JSON: the list, the result with its \"differences\", or {\"observer\", "
     "\"attempts\"}; figures are fractions 0..1, null when withheld or undefined"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_calibrate = {
    "calibrate",
    "calibrate [REFERENCE]",
    "score a calibration reference session in the UI and see the result",
    "[OPTIONS] [REFERENCE]\n--list [--json]\n--result [--json] REFERENCE\n--history [--json] "
    "[OBSERVER]",
    "Without REFERENCE, lists the reference sessions you may attempt (id, title,\n"
    "rubric, attempts left; never their master scores) and, on a terminal, asks\n"
    "which to attempt. REFERENCE is a reference's id or a unique start of it.\n"
    "\n"
    "The reference is scored in the same UI as 'coachq observe' (markers,\n"
    "ratings, review), with CALIBRATION in every screen's title, and submitted as\n"
    "an attempt. Once the server has it, the result shows at once in the UI: pass\n"
    "or fail, rating pairs, exact agreement, agreement within one and weighted\n"
    "kappa (or \"undefined\" and why), the thresholds missed, and, behaviour by\n"
    "behaviour, where you differed from the master coder; a key closes it and the\n"
    "same is printed for scripts. With --json, standard output is the JSON alone:\n"
    "the UI draws on the terminal (/dev/tty) and its messages go to standard\n"
    "error. Having seen the master scores, you cannot attempt that reference\n"
    "again: the server refuses it naming calibration_ref (docs/observer.md,\n"
    "\"Calibration in the UI\").\n"
    "\n"
    "--history prints every attempt with its date, reference, figures (for the\n"
    "ones shown in full, or all of them to enablement leads and administrators)\n"
    "and pass or fail.\n",
    opts_calibrate,
    "Exit status: 0 done (the attempt stored and passed, or queued to send), 1\n"
    "refused, not found, or the UI quit with the session saved, 2 usage, 3\n"
    "connection or local store failure, 4 the attempt is stored and did not pass.\n",
};

static const struct cli_opt opts_assignments[] = {
    {"observer", OPT_OBSERVER, "ID",
     "another observer's assignments, or '*' for every observer's (leads, administrators)"},
    {"all", OPT_ALL, NULL, "also done, expired and reassigned ones"},
    {"json", OPT_JSON, NULL, "print a JSON array of assignments"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_assignments = {
    "assignments",
    "assignments [--all] [--json]",
    "your queue of assigned observations",
    "[--observer ID] [--all] [--json] [OPTIONS]",
    "Lists your open assignments, soonest due first: the front-line manager to\n"
    "observe, the rubric and the due window, drawn at random under a coverage\n"
    "plan (docs/programme.md). Submitting an observation of that manager inside\n"
    "the window fulfils the assignment; 'coachq observe --assignment ID' starts\n"
    "from one. Columns: id, status, manager, rubric, due from, due until.\n",
    opts_assignments,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

static const struct cli_opt opts_assign[] = {
    {"seed", OPT_SEED, "N", "the draw's seed, 0..2^64-1 [random: the server picks and records it]"},
    {"period", OPT_PERIOD, "DATE",
     "a day (YYYY-MM-DD) in the month or week to draw for [today, organisation's zone]"},
    {"sample", OPT_SAMPLE, "N", "at most N assignments, shared among the lines [every slot]"},
    {"dry-run", OPT_DRY_RUN, NULL, "show the draw, write nothing"},
    {"json", OPT_JSON, NULL,
     "print {\"dry_run\", \"draw\", \"assignments\", \"unfilled_managers\", \"truncated\", and "
     "the shown and total counts}"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_assign = {
    "assign",
    "assign SCOPE [--seed N]",
    "draw assignments under a coverage plan (leads, administrators)",
    "SCOPE [--seed N] [--period DATE] [--sample N] [--dry-run] [--json] [OPTIONS]",
    "Draws assignments under the coverage plan SCOPE (programme:ID or line:ID) by\n"
    "stratified random sampling, as 'coachqd assign' does: the strata are the\n"
    "second-level managers' lines, and each drawn manager gets an observer\n"
    "chosen at random among the eligible ones. The seed is recorded with the\n"
    "draw: the same seed on the same store state draws the same.\n",
    opts_assign,
    "Exit status: 0 drawn, 1 refused, 2 usage, 3 connection failure, 4 drawn but\n"
    "some manager found no eligible observer.\n",
};

static const struct cli_opt opts_plan[] = {
    {"rubric", OPT_RUBRIC, "ID", "the rubric the observers must be certified for"},
    {"per-month", OPT_PER_MONTH, "N", "observations of every front-line manager per month, 1..31"},
    {"per-week", OPT_PER_WEEK, "N", "observations of every front-line manager per week"},
    {"load-cap", OPT_LOAD_CAP, "N", "most open assignments per observer and period"},
    {"off-own-line", OPT_OFF_LINE, NULL, "never an observer of the manager's own line"},
    {"off-own-reports", OPT_OFF_REPORTS, NULL, "never an observer the manager reports to"},
    {"off-last-observed", OPT_OFF_LAST, NULL,
     "never the observer of the manager's last observation"},
    {"json", OPT_JSON, NULL, "print the plans as JSON"},
    {NULL, 0, NULL, NULL},
};

const struct cli_doc cli_doc_plan = {
    "plan",
    "plan [SCOPE --rubric ID --per-month N]",
    "list or set coverage plans (leads, administrators)",
    "[--json] [OPTIONS]\nSCOPE --rubric ID (--per-month N | --per-week N) [--load-cap N] "
    "[--off-own-line] [--off-own-reports] [--off-last-observed] [OPTIONS]",
    "Without SCOPE: lists the coverage plans. With SCOPE (programme:ID or\n"
    "line:ID): sets that plan, as 'coachqd plan set' does, audited under your\n"
    "name (docs/programme.md).\n",
    opts_plan,
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n",
};

/* The commands: what cli_main() dispatches to by the documentation's
 * name, in the order the main help and the man page list them. */
const struct cli_command cli_commands[] = {
    {&cli_doc_observe, cli_cmd_observe},     {&cli_doc_amend, cli_cmd_amend},
    {&cli_doc_mine, cli_cmd_mine},           {&cli_doc_queue, cli_cmd_queue},
    {&cli_doc_submit, cli_cmd_submit},       {&cli_doc_get, cli_cmd_get},
    {&cli_doc_history, cli_cmd_history},     {&cli_doc_list, cli_cmd_list},
    {&cli_doc_rubrics, cli_cmd_rubrics},     {&cli_doc_cert, cli_cmd_cert},
    {&cli_doc_reference, cli_cmd_reference}, {&cli_doc_dashboard, cli_cmd_dashboard},
    {&cli_doc_outcomes, cli_cmd_outcomes},   {&cli_doc_export, cli_cmd_export},
    {&cli_doc_stats, cli_cmd_stats},         {&cli_doc_whoami, cli_cmd_whoami},
    {&cli_doc_actions, cli_cmd_actions},     {&cli_doc_sessions, cli_cmd_sessions},
    {&cli_doc_calibrate, cli_cmd_calibrate}, {&cli_doc_assignments, cli_cmd_assignments},
    {&cli_doc_assign, cli_cmd_assign},       {&cli_doc_plan, cli_cmd_plan},
};

const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

/* ---- getopt_long() from a table --------------------------------------------- */

/* Adds the table's options to opts (room for cap) and their short forms to
 * shortopts (room for scap). Returns how many opts now holds. */
static size_t add_opts(const struct cli_opt *t, struct option *opts, size_t n, size_t cap,
                       char *shortopts, size_t scap)
{
    for (size_t i = 0; t[i].name != NULL; i++) {
        size_t sl = strlen(shortopts);

        /* CLI_MAX_OPTS is the programmer's bound on a command's options;
         * a release build drops what does not fit rather than overflow. */
        assert(n < cap && sl + 3 < scap);
        if (n >= cap || sl + 3 >= scap) {
            break;
        }
        opts[n].name = t[i].name;
        opts[n].has_arg = t[i].arg != NULL ? required_argument : no_argument;
        opts[n].flag = NULL;
        opts[n].val = t[i].val;
        n++;
        if (t[i].val > 0 && t[i].val < 128) {
            shortopts[sl++] = (char)t[i].val;
            if (t[i].arg != NULL) {
                shortopts[sl++] = ':';
            }
            shortopts[sl] = '\0';
        }
    }
    return n;
}

void cli_getopt_table(const struct cli_doc *d, int stop_at_command, struct option *opts, size_t cap,
                      char *shortopts, size_t scap)
{
    size_t n = 0;

    snprintf(shortopts, scap, "%s", stop_at_command ? "+" : "");
    n = add_opts(d->opts, opts, n, cap - 1, shortopts, scap);
    n = add_opts(cli_common_opts, opts, n, cap - 1, shortopts, scap);
    if (stop_at_command && n < cap - 1) {
        /* Hidden: the build writes coachq(1) with it. */
        opts[n++] = (struct option){"help-man", no_argument, NULL, OPT_HELP_MAN};
    }
    opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* ---- --help ----------------------------------------------------------------- */

/* Writes an option's "--name ARG" ("-q, --quiet" with a short form). */
static void opt_left(const struct cli_opt *o, char *out, size_t len)
{
    char shortform[8] = "";

    if (o->val > 0 && o->val < 128) {
        snprintf(shortform, sizeof(shortform), "-%c, ", o->val);
    }
    snprintf(out, len, "%s--%s%s%s", shortform, o->name, o->arg != NULL ? " " : "",
             o->arg != NULL ? o->arg : "");
}

/* Prints each line of usage after "Usage: coachq NAME ", aligned. */
static void print_usage(FILE *f, const struct cli_doc *d)
{
    const char *p = d->usage;
    const char *lead = "Usage:";

    while (*p != '\0') {
        size_t len = strcspn(p, "\n");

        fprintf(f, "%s coachq%s%s %.*s\n", lead, d->name[0] ? " " : "", d->name, (int)len, p);
        lead = "      ";
        p += len;
        if (*p == '\n') {
            p++;
        }
    }
}

void cli_print_help(FILE *f, const struct cli_doc *d)
{
    char left[96];

    print_usage(f, d);
    fputs(d->text, f);
    if (d == &cli_doc_main) {
        fputs("\nCommands:\n", f);
        for (size_t i = 0; i < cli_ncommands; i++) {
            helpdoc_opt(f, cli_commands[i].doc->brief, cli_commands[i].doc->summary, NULL, HELP_COL,
                        HELP_WIDTH);
        }
        fputs("Run 'coachq COMMAND --help' for a command's options.\n", f);
    }
    if (d->opts[0].name != NULL) {
        fputs("\nOptions:\n", f);
        for (size_t i = 0; d->opts[i].name != NULL; i++) {
            opt_left(&d->opts[i], left, sizeof(left));
            helpdoc_opt(f, left, d->opts[i].help, NULL, HELP_COL, HELP_WIDTH);
        }
    }
    fprintf(f, "\n%s\n", d == &cli_doc_main ? common_title_main : common_title);
    for (size_t i = 0; cli_common_opts[i].name != NULL; i++) {
        opt_left(&cli_common_opts[i], left, sizeof(left));
        helpdoc_opt(f, left, cli_common_opts[i].help, NULL, HELP_COL, HELP_WIDTH);
    }
    fputs(config_text, f);
    fprintf(f, "\n%s", d->exit);
}

/* ---- coachq(1) -------------------------------------------------------------- */

static void man_opts(FILE *f, const struct cli_opt *t)
{
    char left[96];

    for (size_t i = 0; t[i].name != NULL; i++) {
        opt_left(&t[i], left, sizeof(left));
        helpdoc_man_opt(f, left, t[i].help, NULL);
    }
}

/* Prints each form of a command's usage as a synopsis line. */
static void man_synopsis(FILE *f, const struct cli_doc *d)
{
    const char *p = d->usage;
    char cmd[64], args[256];

    snprintf(cmd, sizeof(cmd), "coachq%s%s", d->name[0] ? " " : "", d->name);
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");

        snprintf(args, sizeof(args), "%.*s", (int)len, p);
        helpdoc_man_synopsis(f, cmd, args);
        p += len;
        if (*p == '\n') {
            p++;
        }
    }
}

void cli_print_man(FILE *f, const char *version)
{
    helpdoc_man_head(f, "coachq", 1, version, "User Commands",
                     "the coachq client: submit coaching observations and query them");
    helpdoc_man_section(f, "SYNOPSIS");
    man_synopsis(f, &cli_doc_main);
    for (size_t i = 0; i < cli_ncommands; i++) {
        man_synopsis(f, cli_commands[i].doc);
    }
    helpdoc_man_section(f, "DESCRIPTION");
    helpdoc_man_text(f, cli_doc_main.text);
    helpdoc_man_text(f, "Observers score sessions with observe (or submit JSON files); what "
                        "cannot be sent waits in a local outbox (queue). Managers and leads read "
                        "observations and dashboards. Every command connects to coachqd's "
                        "protocol port over mutual TLS with the user's certificate.");
    helpdoc_man_section(f, "OPTIONS");
    helpdoc_man_text(f, "--version is accepted before COMMAND only; the other options before "
                        "COMMAND and after it, by every command. Connection settings are taken "
                        "from the flag, then the environment, then the config file, then the "
                        "default.");
    man_opts(f, cli_doc_main.opts);
    man_opts(f, cli_common_opts);
    helpdoc_man_section(f, "COMMANDS");
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_doc *d = cli_commands[i].doc;
        char title[128];

        snprintf(title, sizeof(title), "coachq %s", d->brief);
        helpdoc_man_subsection(f, title);
        helpdoc_man_text(f, d->text);
        man_opts(f, d->opts);
        helpdoc_man_text(f, d->exit);
    }
    helpdoc_man_section(f, "FILES");
    helpdoc_man_opt(f, "$XDG_CONFIG_HOME/coachq/config",
                    "The config file when $COACHQ_CONFIG is not set (~/.config/coachq/config "
                    "without $XDG_CONFIG_HOME): \"key = value\" lines with the keys server, "
                    "cert, key and ca; '#' starts a comment.",
                    NULL);
    helpdoc_man_opt(f, "$XDG_DATA_HOME/coachq",
                    "The local store (~/.local/share/coachq without $XDG_DATA_HOME): the "
                    "outbox, the saved observe session and cached rubrics, an LMDB "
                    "environment.",
                    NULL);
    helpdoc_man_section(f, "ENVIRONMENT");
    helpdoc_man_opt(f, "COACHQ_SERVER", "The server's HOST:PORT, when --server is not given.",
                    NULL);
    helpdoc_man_opt(f, "COACHQ_CERT", "Your certificate, when --cert is not given.", NULL);
    helpdoc_man_opt(f, "COACHQ_KEY", "Its private key, when --key is not given.", NULL);
    helpdoc_man_opt(f, "COACHQ_CA", "The deployment CA, when --ca is not given.", NULL);
    helpdoc_man_opt(f, "COACHQ_CONFIG", "The config file to read instead of the default one.",
                    NULL);
    helpdoc_man_opt(f, "COACHQ_DATA_DIR", "The local store, when --data-dir is not given.", NULL);
    helpdoc_man_section(f, "EXIT STATUS");
    helpdoc_man_text(f, cli_doc_main.exit);
    helpdoc_man_text(f, "Each command's own meaning of these codes is under COMMANDS.");
    helpdoc_man_section(f, "SEE ALSO");
    fputs("\\fBcoachqd\\fR(8)\n", f);
}
