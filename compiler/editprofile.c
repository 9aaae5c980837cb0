/* The editing commands (compiler/editcmd.h): profiles, their priority groups
 * and the failover policy. */
#include "editcmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "editctx.h"

/* ---- profiles and priority ---- */

static const char *const GROUPS = "profile_groups";

/* Keep profile_groups (when the file has it) in step with a profile's group. */
static int sync_groups(struct ctx *c, const char *name, const char *group, struct qcc_err *e) {
  const char *sec[] = {GROUPS};
  if (qcc_yamldoc_get(c->doc, sec, 1, NULL) != QCC_YNODE_MAP)
    return 0;
  for (size_t g = 0; g < qcc_group_desc.count; g++) {
    const char *gname = qcc_group_desc.names[g];
    const char *item[] = {GROUPS, gname, name};
    bool there = qcc_yamldoc_get(c->doc, item, 3, NULL) != QCC_YNODE_NONE;
    bool want = group && strcmp(gname, group) == 0;
    if (there && !want && qcc_yamldoc_remove(c->doc, item, 3, e) != 0)
      return -1;
    if (!there && want) {
      char *s = qcc_yaml_scalar(name, true);
      const char *list[] = {GROUPS, gname};
      int rc = s ? qcc_yamldoc_append(c->doc, list, 2, s, e) : -1;
      free(s);
      if (rc != 0)
        return -1;
    }
  }
  return 0;
}

static int parse_group(struct ctx *c, const char *s, const char **out) {
  unsigned v;
  if (!qcc_enum_parse(&qcc_group_desc, s, &v)) {
    char legal[128];
    qcc_enum_list(&qcc_group_desc, legal, sizeof legal);
    return ed_fail(c, QCCC_EDIT_USAGE, "\"%s\" is not a priority group; expected %s", s, legal);
  }
  *out = qcc_group_desc.names[v];
  return 0;
}

int ed_priority_set(struct ctx *c) {
  if (c->o.npos != 3 || strcmp(c->o.pos[0], "set") != 0)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc priority set PROFILE primary|secondary|fallback");
  const char *name = c->o.pos[1], *group = NULL;
  int rc = parse_group(c, c->o.pos[2], &group);
  if (rc == 0)
    rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  if (!ed_has_profile(c, name))
    return ed_no_profile(c, name);
  const char *path[] = {"profiles", name, "priority"};
  struct qcc_err e = {0};
  if (qcc_yamldoc_set(c->doc, path, 3, group, &e) != 0 || sync_groups(c, name, group, &e) != 0)
    return ed_edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s is now %s", name, group);
  return ed_commit(c, what);
}

int ed_profile_add(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE,
                "usage: qccc profile add NAME [--description TEXT] [--priority GROUP]");
  const char *name = c->o.pos[1];
  if (!ed_good_name(name))
    return ed_fail(c, QCCC_EDIT_USAGE, "profile name \"%s\": use letters, digits, '-' and '_' only",
                name);
  const char *group = NULL;
  int rc = c->o.priority ? parse_group(c, c->o.priority, &group) : 0;
  if (rc == 0)
    rc = ed_load(c, false);
  if (rc != 0)
    return rc;
  if (ed_has_profile(c, name))
    return ed_fail(c, QCCC_EDIT_USAGE, "profile %s already exists", name);
  char *desc = c->o.description ? strdup(c->o.description) : NULL;
  if (!group && c->tty) {
    size_t pick;
    rc = qcc_prompt_choice(c->pr, "Priority group of the new profile", qcc_group_desc.names,
                           qcc_group_desc.count, 0, &pick);
    if (rc == 0 && !desc) {
      rc = qcc_prompt_text(c->pr, "Description (empty for none)", "", NULL, NULL, &desc);
      if (rc == 0 && desc[0] == '\0') {
        free(desc);
        desc = NULL;
      }
    }
    if (rc != 0) {
      free(desc);
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
    group = qcc_group_desc.names[pick];
  }
  char *qn = qcc_yaml_scalar(name, true);
  char *qd = desc ? qcc_yaml_scalar(desc, true) : NULL;
  if (!qn || (desc && !qd)) { /* a description typed at the prompt that is not UTF-8 */
    free(desc);
    free(qn);
    free(qd);
    return ed_fail(c, QCCC_EDIT_USAGE, "the description is not valid UTF-8 text; nothing was changed");
  }
  free(desc);
  char item[8192];
  snprintf(item, sizeof item, "name: %s\n%s%s%spriority: %s\nendpoints: []\n", qn ? qn : name,
           qd ? "description: " : "", qd ? qd : "", qd ? "\n" : "", group ? group : "primary");
  free(qn);
  free(qd);
  struct qcc_err e = {0};
  if (qcc_yamldoc_append(c->doc, ed_PROFILES, 1, item, &e) != 0 ||
      sync_groups(c, name, group ? group : "primary", &e) != 0)
    return ed_edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s added (add endpoints with `qccc endpoint add %s`)", name,
           name);
  return ed_commit(c, what);
}

/* A removal asks on a terminal unless -y (the file keeps FILE.bak, so
 * elsewhere it goes on). QCCC_EDIT_OK to go on. */
int ed_ask_remove(struct ctx *c, const char *what) {
  if (c->o.yes || !c->tty) return QCCC_EDIT_OK;
  bool ok = false;
  int rc = qcc_prompt_yesno(c->pr, what, false, &ok);
  if (rc != 0 || !ok) {
    fprintf(c->out, "cancelled; %s unchanged\n", c->path);
    return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
  }
  return QCCC_EDIT_OK;
}

int ed_profile_remove(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc profile remove NAME");
  const char *name = c->o.pos[1];
  int rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  if (!ed_has_profile(c, name))
    return ed_no_profile(c, name);
  char keep[256], q[400];
  snprintf(keep, sizeof keep, "%s", name);
  snprintf(q, sizeof q, "Remove profile %s and every endpoint in it from %s", keep, c->path);
  rc = ed_ask_remove(c, q);
  if (rc != QCCC_EDIT_OK)
    return rc;
  const char *path[] = {"profiles", keep};
  struct qcc_err e = {0};
  if (qcc_yamldoc_remove(c->doc, path, 2, &e) != 0 || sync_groups(c, keep, NULL, &e) != 0)
    return ed_edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s removed", keep);
  return ed_commit(c, what);
}

/* ---- policy ---- */

bool ed_check_duration(const char *s, char *why, size_t cap, void *ctx) {
  const struct qcc_knob *k = ctx;
  struct qcc_knob_value v;
  enum qcc_knob_status st = qcc_knob_parse(k, s, &v);
  if (st == QCC_KNOB_OK)
    return true;
  char range[96];
  qcc_knob_range_text(k, range, sizeof range);
  snprintf(why, cap, "%s must be a duration (30s, 5m, 1h or seconds) %s", k->path, range);
  return false;
}

/* Parse a flag value for knob K; a usage error naming FLAG when it is bad. */
int ed_flag_value(struct ctx *c, const char *flag, const char *val, enum qcc_knob_id id) {
  const struct qcc_knob *k = &qcc_knobs[id];
  struct qcc_knob_value v;
  if (qcc_knob_parse(k, val, &v) == QCC_KNOB_OK)
    return 0;
  char range[96];
  qcc_knob_range_text(k, range, sizeof range);
  return ed_fail(c, QCCC_EDIT_USAGE, "%s %s: %s must be %s %s", flag, val, k->path,
              k->kind == QCC_KNOB_DURATION ? "a duration (30s, 5m, 1h or seconds)"
                                           : "a whole number",
              range);
}

const char *ed_current_value(struct ctx *c, enum qcc_knob_id id, char *buf, size_t cap) {
  const char *segs[MAX_SEGS];
  char pb[256];
  size_t n = qcc_path_split(qcc_knobs[id].path, pb, sizeof pb, segs, MAX_SEGS);
  char *v = NULL;
  if (qcc_yamldoc_get(c->doc, segs, n, &v) == QCC_YNODE_SCALAR && v) {
    snprintf(buf, cap, "%s", v);
    free(v);
    return buf;
  }
  free(v);
  return qcc_knobs[id].def;
}

static int set_knob(struct ctx *c, enum qcc_knob_id id, const char *val, struct qcc_err *e) {
  const char *segs[MAX_SEGS];
  char pb[256];
  size_t n = qcc_path_split(qcc_knobs[id].path, pb, sizeof pb, segs, MAX_SEGS);
  char *s = qcc_yaml_scalar(val, qcc_knobs[id].kind == QCC_KNOB_STRING);
  if (!s)
    return qcc_err_set(e, ENOMEM, "out of memory");
  int rc = qcc_yamldoc_set(c->doc, segs, n, s, e);
  free(s);
  return rc;
}

int ed_policy(struct ctx *c) {
  struct opts *o = &c->o;
  if (o->npos != 0)
    return ed_fail(c, QCCC_EDIT_USAGE,
                "usage: qccc policy [--auto-failover|--no-auto-failover] "
                "[--auto-recovery|--no-auto-recovery] "
                "[--failure-threshold N] [--cooldown D]");
  int rc = 0;
  if (o->threshold)
    rc = ed_flag_value(c, "--failure-threshold", o->threshold, QCC_K_SWITCH_THRESHOLD);
  if (rc == 0 && o->cooldown)
    rc = ed_flag_value(c, "--cooldown", o->cooldown, QCC_K_SWITCH_COOLDOWN);
  if (rc == 0)
    rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  bool none = o->auto_failover < 0 && o->auto_recovery < 0 && !o->threshold && !o->cooldown;
  char thr_buf[32], *cool = NULL;
  if (none) {
    if (!c->tty)
      return ed_fail(c, QCCC_EDIT_USAGE,
                  "nothing to change: give --auto-failover or --no-auto-failover, "
                  "--auto-recovery or --no-auto-recovery, --failure-threshold N or "
                  "--cooldown D (not on a terminal, so nothing is asked)");
    char b1[64], b2[64], b3[64], b4[64];
    bool af, ar;
    uint32_t thr;
    const struct qcc_knob *kt = &qcc_knobs[QCC_K_SWITCH_THRESHOLD];
    rc = qcc_prompt_yesno(c->pr, "Fail over automatically when a group is down",
                          strcmp(ed_current_value(c, QCC_K_SWITCH_AUTO, b1, sizeof b1), "false") != 0,
                          &af);
    if (rc == 0)
      rc = qcc_prompt_yesno(
          c->pr, "Recover back to primary automatically",
          strcmp(ed_current_value(c, QCC_K_SWITCH_RECOVERY, b2, sizeof b2), "false") != 0, &ar);
    if (rc == 0)
      rc = qcc_prompt_uint(
          c->pr, "Consecutive failures before failing over",
          (uint32_t)strtoul(ed_current_value(c, QCC_K_SWITCH_THRESHOLD, b3, sizeof b3), NULL, 10),
          (uint32_t)kt->min, (uint32_t)kt->max, &thr);
    if (rc == 0)
      rc = qcc_prompt_text(c->pr, "Cooldown between switches",
                           ed_current_value(c, QCC_K_SWITCH_COOLDOWN, b4, sizeof b4), ed_check_duration,
                           (void *)&qcc_knobs[QCC_K_SWITCH_COOLDOWN], &cool);
    if (rc != 0) {
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
    o->auto_failover = af;
    o->auto_recovery = ar;
    snprintf(thr_buf, sizeof thr_buf, "%u", thr);
    o->threshold = thr_buf;
    o->cooldown = cool;
  }
  struct qcc_err e = {0};
  rc = 0;
  if (o->auto_failover >= 0)
    rc = set_knob(c, QCC_K_SWITCH_AUTO, o->auto_failover ? "true" : "false", &e);
  if (rc == 0 && o->auto_recovery >= 0)
    rc = set_knob(c, QCC_K_SWITCH_RECOVERY, o->auto_recovery ? "true" : "false", &e);
  if (rc == 0 && o->threshold)
    rc = set_knob(c, QCC_K_SWITCH_THRESHOLD, o->threshold, &e);
  if (rc == 0 && o->cooldown)
    rc = set_knob(c, QCC_K_SWITCH_COOLDOWN, o->cooldown, &e);
  free(cool);
  if (rc != 0)
    return ed_edit_failed(c, NULL, &e);
  return ed_commit(c, "switching_policy updated");
}
