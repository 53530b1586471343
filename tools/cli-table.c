/*
 * tools/cli-table.c: the one option parser of the pkjwt tools, and what the
 * same tables print: --help, the man page's OPTIONS section
 * (--man-options) and the bash completion script (--bash-completion).
 * See cli.h.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- lookups ------------------------------------------------------------- */

/* Room for every pkjwt_alg and the NULL; the library is the one home of the
 * names (pkjwt_alg_name). */
#define MAX_ALGS 31
const char *cli_alg_values[MAX_ALGS + 1];

const char *cli_version_extra = NULL;

/* --version: the version, whether this process can use keys in PKCS#11
 * tokens (libpkjwt was built with libp11 and can load it; asking loads
 * it), and the tool's own line (pkjwt-token: the token stores). */
static void print_version(void) {
  printf("%s (pkjwt) %s\n", cli_progname, pkjwt_version());
  printf("PKCS#11 keys: %s\n",
         pkjwt_key_pkcs11_supported()
             ? "yes (pkcs11: URIs, libp11)"
             : "no (built without libp11, or it cannot be "
               "loaded)");
  if (cli_version_extra)
    printf("%s\n", cli_version_extra);
}

static void fill_alg_values(void) {
  size_t n = 0;
  for (int a = PKJWT_ALG_DEFAULT + 1; n < MAX_ALGS; a++) {
    const char *name = pkjwt_alg_name((pkjwt_alg)a);
    if (!name)
      break;
    cli_alg_values[n++] = name;
  }
  cli_alg_values[n] = NULL;
}

static const cli_cmd *default_cmd(const cli_tool *t) {
  return t->n_cmds && !t->cmds[0].name ? &t->cmds[0] : NULL;
}

static const cli_cmd *find_cmd(const cli_tool *t, const char *name) {
  for (size_t i = 0; i < t->n_cmds; i++)
    if (t->cmds[i].name && strcmp(t->cmds[i].name, name) == 0)
      return &t->cmds[i];
  return NULL;
}

const cli_opt *cli_find_opt(const cli_args *a, int id) {
  for (const cli_opt *o = a->cmd->opts; o->name; o++)
    if (o->id == id)
      return o;
  return NULL;
}

const char *cli_opt_name(const cli_args *a, int id) {
  /* "--" + name, kept in a small ring so two can share one message */
  static char buf[4][48];
  static int next;
  const cli_opt *o = cli_find_opt(a, id);
  if (!o)
    return "?";
  char *s = buf[next++ % 4];
  snprintf(s, sizeof(buf[0]), "--%s", o->name);
  return s;
}

const char *cli_values_text(const cli_args *a, int id) {
  static char buf[256];
  const cli_opt *o = cli_find_opt(a, id);
  size_t n = 0;
  buf[0] = '\0';
  for (const char *const *v = o && o->values ? o->values : NULL; v && *v; v++)
    if (n < sizeof(buf))
      n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
                            v == o->values ? ""
                            : v[1]         ? ", "
                                           : " or ",
                            *v);
  return buf;
}

int cli_require(const cli_args *a, int id) {
  if (a->seen[id])
    return 0;
  const cli_opt *o = cli_find_opt(a, id);
  if (!o)
    return cli_error(CLI_EXIT_USAGE, NULL, "a required option is missing");
  char env[64] = "", in[64] = "";
  if (o->env)
    snprintf(env, sizeof(env), "or set %s", o->env);
  if (o->flags & CLI_OPT_STDIN)
    snprintf(in, sizeof(in), "use --%s - to read it from standard input",
             o->name);
  return cli_error(CLI_EXIT_USAGE, NULL, "--%s is required%s%s%s%s%s", o->name,
                   env[0] || in[0] ? " (" : "", env,
                   env[0] && in[0] ? "; " : "", in, env[0] || in[0] ? ")" : "");
}

/* ---- help ---------------------------------------------------------------- */

void cli_print_wrapped(FILE *f, size_t col, size_t indent, const char *text) {
  const size_t width = 80;
  const char *p = text;
  while (*p) {
    if (*p == '\n') {
      fputc('\n', f);
      col = 0;
      p++;
      continue;
    }
    size_t word = strcspn(p, " \n");
    if (col > indent && col + 1 + word > width) {
      fprintf(f, "\n%*s", (int)indent, "");
      col = indent;
    } else if (col > indent && col > 0) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, word, f);
    col += word;
    p += word;
    while (*p == ' ')
      p++;
  }
  fputc('\n', f);
}

static int has_short(const cli_cmd *c) {
  for (const cli_opt *o = c->opts; o->name; o++)
    if (o->short_name)
      return 1;
  return 0;
}

/* The value part of a label: "ec|rsa", "token-endpoint|issuer|auto|URL",
 * or the argument's name. */
static void value_label(char *buf, size_t size, const cli_opt *o) {
  buf[0] = '\0';
  if (!o->arg)
    return;
  if (!o->values) {
    snprintf(buf, size, "%s", o->arg);
    return;
  }
  size_t n = 0;
  for (const char *const *v = o->values; *v && n < size; v++)
    n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "|" : "", *v);
  if ((o->flags & CLI_OPT_OPEN) && n < size)
    snprintf(buf + n, size - n, "|%s", o->arg);
}

/* "-t, --type ec|rsa" (four spaces stand for a missing short option when
 * others of the command have one). */
static void opt_label(char *buf, size_t size, const cli_opt *o, int shorts) {
  char sh[8] = "", val[96];
  if (o->short_name)
    snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
  else if (shorts)
    snprintf(sh, sizeof(sh), "    ");
  value_label(val, sizeof(val), o);
  snprintf(buf, size, "%s--%s%s%s", sh, o->name, val[0] ? " " : "", val);
}

#define HELP_COL 31 /* where an option's help starts */

static void print_options(FILE *f, const cli_cmd *c) {
  int shorts = has_short(c);
  fputs("\nOptions:\n", f);
  for (const cli_opt *o = c->opts; o->name; o++) {
    char label[128], help[512];
    opt_label(label, sizeof(label), o, shorts);
    if (strlen(label) > HELP_COL - 3)
      fprintf(f, "  %s\n%*s", label, HELP_COL, "");
    else
      fprintf(f, "  %-*s ", HELP_COL - 3, label);
    snprintf(help, sizeof(help), "%s%s%s%s", o->help, o->env ? " (env " : "",
             o->env ? o->env : "", o->env ? ")" : "");
    cli_print_wrapped(f, HELP_COL, HELP_COL, help);
  }
}

static void print_cmd_help(FILE *f, const cli_cmd *c) {
  int n = fprintf(f, "Usage: %s%s%s", cli_progname, c->name ? " " : "",
                  c->name ? c->name : "");
  cli_print_wrapped(f, n > 0 ? (size_t)n : 0, 7, c->synopsis);
  fputc('\n', f);
  char line[256];
  snprintf(line, sizeof(line), "%s.", c->summary);
  cli_print_wrapped(f, 0, 0, line);
  print_options(f, c);
}

static void print_subcommands(FILE *f, const cli_tool *t) {
  fputs("\nSubcommands:\n", f);
  for (size_t i = 0; i < t->n_cmds; i++) {
    if (!t->cmds[i].name)
      continue;
    fprintf(f, "  %-8s ", t->cmds[i].name);
    cli_print_wrapped(f, 11, 11, t->cmds[i].summary);
  }
  fprintf(f, "  %-8s %s\n", "help", "Show the help of a subcommand");
}

static void print_top_help(FILE *f, const cli_tool *t) {
  const cli_cmd *d = default_cmd(t);
  if (d) {
    print_cmd_help(f, d);
  } else {
    fprintf(f,
            "Usage: %s SUBCOMMAND [OPTIONS]\n"
            "       %s SUBCOMMAND --help\n"
            "       %s --version\n\n",
            cli_progname, cli_progname, cli_progname);
    cli_print_wrapped(f, 0, 0, t->about);
  }
  if (t->n_cmds > (d ? 1u : 0u))
    print_subcommands(f, t);
  fputc('\n', f);
  cli_print_wrapped(f, 0, 0, t->footer);
}

/* ---- the man page's OPTIONS section -------------------------------------- */

/* Text for roff: '-' becomes "\-", '\' becomes "\e". */
static void roff_puts(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", f);
    else if (*s == '\\')
      fputs("\\e", f);
    else
      fputc(*s, f);
  }
}

/* What the man page's OPTIONS section holds for every command; a tool's
 * test compares the page with this. */
static void print_man_options(FILE *f, const cli_tool *t) {
  for (size_t i = 0; i < t->n_cmds; i++) {
    const cli_cmd *c = &t->cmds[i];
    fprintf(f, ".SS \"%s\"\n", c->name ? c->name : "Options");
    for (const cli_opt *o = c->opts; o->name; o++) {
      char val[96];
      value_label(val, sizeof(val), o);
      fputs(".TP\n", f);
      if (o->short_name)
        fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
      fputs("\\fB\\-\\-", f);
      roff_puts(f, o->name);
      fputs("\\fR", f);
      if (val[0]) {
        fputs(" \\fI", f);
        roff_puts(f, val);
        fputs("\\fR", f);
      }
      fputc('\n', f);
      roff_puts(f, o->help);
      if (o->env) {
        fputs(" (environment: \\fB", f);
        roff_puts(f, o->env);
        fputs("\\fR)", f);
      }
      fputc('\n', f);
    }
  }
}

/* ---- bash completion ------------------------------------------------------
 */

/* "--name|-x" of every option with a value of this kind into one case
 * pattern; 0 when there is none. kind: 0 free value, 1 file, 2 values. */
static int case_pattern(FILE *f, const cli_cmd *c, int kind) {
  int n = 0;
  for (const cli_opt *o = c->opts; o->name; o++) {
    int k = !o->arg ? -1 : o->values ? 2 : o->flags & CLI_OPT_FILE ? 1 : 0;
    if (k != kind || kind == 2)
      continue;
    fprintf(f, "%s--%s", n++ ? "|" : "    ", o->name);
    if (o->short_name)
      fprintf(f, "|-%c", o->short_name);
  }
  if (n)
    fputs(")\n", f);
  return n;
}

/* The words completion offers after an option: its values, files, or
 * nothing (a free value). */
static void completion_case(FILE *f, const cli_cmd *c) {
  fputs("    case $prev in\n", f);
  for (const cli_opt *o = c->opts; o->name; o++) {
    if (!o->arg || !o->values)
      continue;
    fprintf(f, "    --%s", o->name);
    if (o->short_name)
      fprintf(f, "|-%c", o->short_name);
    fputs(")\n      COMPREPLY=($(compgen -W '", f);
    for (const char *const *v = o->values; *v; v++)
      fprintf(f, "%s%s", v == o->values ? "" : " ", *v);
    fputs("' -- \"$cur\"))\n      return ;;\n", f);
  }
  if (case_pattern(f, c, 1))
    fputs("      compopt -o filenames 2>/dev/null\n"
          "      COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "      return ;;\n",
          f);
  if (case_pattern(f, c, 0))
    fputs("      return ;;\n", f);
  fputs("    esac\n", f);
}

/* The long options of c, space-separated, with " --version" when
 * top-level and the table has none. */
static void completion_words(FILE *f, const cli_cmd *c, int top) {
  int version = 0;
  for (const cli_opt *o = c->opts; o->name; o++) {
    fprintf(f, "%s--%s", o == c->opts ? "" : " ", o->name);
    version |= (o->flags & CLI_OPT_VERSION) != 0;
  }
  if (top && !version)
    fputs(" --version", f);
}

/* The subcommand names, separated by sep. */
static size_t completion_cmds(FILE *f, const cli_tool *t, const char *sep) {
  size_t k = 0;
  for (size_t i = 0; i < t->n_cmds; i++)
    if (t->cmds[i].name)
      fprintf(f, "%s%s", k++ ? sep : "", t->cmds[i].name);
  return k;
}

/*
 * A bash completion script for the tool, from the same tables as --help:
 * subcommands in the first place, each command's long options, and after
 * an option its values or file names.
 */
static void print_bash_completion(FILE *f, const cli_tool *t) {
  char fn[64];
  snprintf(fn, sizeof(fn), "_%s", t->name);
  for (char *p = fn; *p; p++)
    if (*p == '-')
      *p = '_';
  const cli_cmd *d = default_cmd(t);
  fprintf(f,
          "# bash completion for %s, made by `%s --bash-completion`\n"
          "# from the option tables that drive --help. Do not edit.\n"
          "%s() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} prev= sub= opts= top=\n"
          "  [ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "  COMPREPLY=()\n"
          "  [ \"$COMP_CWORD\" -gt 1 ] && case ${COMP_WORDS[1]} in\n"
          "  ",
          t->name, t->name, fn);
  if (completion_cmds(f, t, "|")) {
    fputs("|help) sub=${COMP_WORDS[1]} ;;\n", f);
  } else {
    fputs("help) sub=help ;;\n", f);
  }
  fputs("  esac\n"
        "  case $sub in\n"
        "  help)\n"
        "    [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W '",
        f);
  completion_cmds(f, t, " ");
  fputs("' -- \"$cur\"))\n"
        "    return ;;\n",
        f);
  for (size_t i = 0; i < t->n_cmds; i++) {
    const cli_cmd *c = &t->cmds[i];
    fprintf(f, "  %s)\n", c->name ? c->name : "''");
    completion_case(f, c);
    fputs("    opts='", f);
    completion_words(f, c, 0);
    fputs("'\n    top='", f);
    if (!c->name)
      completion_words(f, c, 1);
    fputs("' ;;\n", f);
  }
  if (!d)
    fputs("  '') top='--help --version' ;;\n", f);
  fputs("  esac\n"
        "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n",
        f);
  if (t->n_cmds > (d ? 1u : 0u)) {
    fputs("    case $cur in\n"
          "    -*) COMPREPLY=($(compgen -W \"$top\" -- \"$cur\")) ;;\n"
          "    *) COMPREPLY=($(compgen -W '",
          f);
    completion_cmds(f, t, " ");
    fputs(" help' -- \"$cur\")) ;;\n"
          "    esac\n",
          f);
  } else {
    fputs("    COMPREPLY=($(compgen -W \"$top\" -- \"$cur\"))\n", f);
  }
  fprintf(f,
          "  else\n"
          "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "  fi\n"
          "}\n"
          "complete -F %s %s\n",
          fn, t->name);
}

/* ---- parsing ---------------------------------------------------------------
 */

static const cli_opt *find_long(const cli_cmd *c, const char *name, size_t n) {
  for (const cli_opt *o = c->opts; o->name; o++)
    if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
      return o;
  return NULL;
}

static const cli_opt *find_short(const cli_cmd *c, char ch) {
  for (const cli_opt *o = c->opts; o->name; o++)
    if (o->short_name && o->short_name == ch)
      return o;
  return NULL;
}

/* " SUB" for "try tool SUB --help", or "" for the default command. */
static const char *sub_words(const cli_cmd *c, char *buf, size_t size) {
  snprintf(buf, size, "%s%s", c->name ? " " : "", c->name ? c->name : "");
  return buf;
}

/* Store one option's value. 0, or an exit status after the error line. */
static int store(cli_args *a, const cli_opt *o, const char *value) {
  if (a->seen[o->id] && !(o->flags & CLI_OPT_REPEAT))
    return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, o->id), "given twice");
  a->seen[o->id]++;
  a->val[o->id] = value ? value : "";
  if (o->flags & CLI_OPT_REPEAT) {
    if (a->n_items >= CLI_MAX_ITEMS)
      return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, o->id),
                       "given more than %d times", CLI_MAX_ITEMS);
    a->items[a->n_items].id = o->id;
    a->items[a->n_items].value = value;
    a->n_items++;
  }
  return 0;
}

/* Values from the environment for options not given. */
static void fill_from_env(cli_args *a) {
  for (const cli_opt *o = a->cmd->opts; o->name; o++) {
    const char *v = o->env ? getenv(o->env) : NULL;
    if (v && *v && !a->seen[o->id]) {
      a->seen[o->id] = 1;
      a->val[o->id] = v;
      a->from_env[o->id] = 1;
    }
  }
}

/*
 * Parse argv (after the subcommand) into a. Returns 0, -1 when --help or
 * --version was printed, or an exit status after printing the error line.
 */
static int parse_args(cli_args *a, const cli_tool *t, const cli_cmd *c,
                      int argc, char **argv) {
  char sub[48];
  memset(a, 0, sizeof(*a));
  a->cmd = c;
  sub_words(c, sub, sizeof(sub));
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const cli_opt *o = NULL;
    const char *value = NULL;
    if (strcmp(arg, "--") == 0) {
      if (i + 1 < argc)
        return cli_error(CLI_EXIT_USAGE, argv[i + 1],
                         "unexpected argument (try %s%s --help)", cli_progname,
                         sub);
      break;
    }
    if (strncmp(arg, "--", 2) == 0) {
      const char *eq = strchr(arg + 2, '=');
      size_t n = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
      o = find_long(c, arg + 2, n);
      if (o && eq)
        value = eq + 1;
    } else if (arg[0] == '-' && arg[1] && arg[2] == '\0') {
      o = find_short(c, arg[1]);
    } else {
      return cli_error(CLI_EXIT_USAGE, arg,
                       "unexpected argument (try %s%s --help)", cli_progname,
                       sub);
    }
    if (!o)
      return cli_error(
          CLI_EXIT_USAGE, arg, "unknown option%s%s (try %s%s --help)",
          c->name ? " for " : "", c->name ? c->name : "", cli_progname, sub);
    if (o->arg && !value) {
      if (i + 1 >= argc)
        return cli_error(
            CLI_EXIT_USAGE, cli_opt_name(a, o->id), "needs a value (%s%s)",
            o->arg,
            o->flags & CLI_OPT_STDIN ? ", or - to read standard input" : "");
      value = argv[++i];
    } else if (!o->arg && value) {
      return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, o->id),
                       "takes no value");
    }
    if (o->flags & CLI_OPT_HELP) {
      /* --help wins over everything else on the line */
      if (c == default_cmd(t))
        print_top_help(stdout, t);
      else
        print_cmd_help(stdout, c);
      return -1;
    }
    if (o->flags & CLI_OPT_VERSION) {
      print_version();
      return -1;
    }
    int rc = store(a, o, value);
    if (rc)
      return rc;
  }
  fill_from_env(a);
  return 0;
}

/* Top-level words that are not a command's options: 1 when handled, with
 * *rc the exit status. */
static int top_level(const cli_tool *t, int argc, char **argv, int *rc) {
  const char *w = argv[1];
  *rc = CLI_EXIT_OK;
  if (strcmp(w, "--version") == 0 || strcmp(w, "-V") == 0) {
    print_version();
  } else if (strcmp(w, "--man-options") == 0) {
    print_man_options(stdout, t);
  } else if (strcmp(w, "--bash-completion") == 0) {
    print_bash_completion(stdout, t);
  } else if ((strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) &&
             !default_cmd(t)) {
    print_top_help(stdout, t);
  } else if (strcmp(w, "help") == 0 && !find_cmd(t, w)) {
    const cli_cmd *c = argc > 2 ? find_cmd(t, argv[2]) : NULL;
    if (argc > 3 || (argc == 3 && !c)) {
      *rc = cli_error(CLI_EXIT_USAGE, argv[c ? 3 : 2],
                      "unknown subcommand (try %s --help)", cli_progname);
      return 1;
    }
    if (c)
      print_cmd_help(stdout, c);
    else
      print_top_help(stdout, t);
  } else {
    return 0;
  }
  *rc = cli_stdout_done();
  return 1;
}

int cli_main(const cli_tool *t, int argc, char **argv) {
  cli_progname = t->name;
  fill_alg_values();
  const cli_cmd *c = default_cmd(t);
  int first = 1, rc;
  if (argc < 2 && !c)
    return cli_error(CLI_EXIT_USAGE, NULL, "missing subcommand (try %s --help)",
                     cli_progname);
  if (argc >= 2) {
    if (top_level(t, argc, argv, &rc))
      return rc;
    if (argv[1][0] != '-') {
      c = find_cmd(t, argv[1]);
      if (!c)
        return cli_error(CLI_EXIT_USAGE, argv[1],
                         "unknown subcommand (try %s --help)", cli_progname);
      first = 2;
    } else if (!c) {
      return cli_error(CLI_EXIT_USAGE, argv[1],
                       "unknown option (try %s --help)", cli_progname);
    }
  }
  cli_args *a = malloc(sizeof(*a));
  if (!a)
    return cli_error(CLI_EXIT_FAIL, NULL, "out of memory");
  rc = parse_args(a, t, c, argc - first, argv + first);
  if (rc == -1)
    rc = cli_stdout_done();
  else if (rc == 0)
    rc = c->run(a);
  free(a);
  return rc;
}
