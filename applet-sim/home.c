/* $VTOKEN_HOME: where the virtual tokens live. vtoken.conf lists them as
 * "[token <name>]" sections (profile=, image= relative to the home, vpcd_port=); a fresh
 * home gets the three factory tokens, and a listed image that is missing is created. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sim_int.h"

struct sim_home {
    char dir[4096];
    sim_token_conf *tokens;
    size_t ntokens;
};

static sim_status put_path(char *out, size_t cap, const char *a, const char *b)
{
    int n = b != NULL ? snprintf(out, cap, "%s/%s", a, b) : snprintf(out, cap, "%s", a);
    return n < 0 || (size_t)n >= cap ? SIM_ERR_ARGS : SIM_OK;
}

sim_status sim_home_resolve(const char *explicit_dir, char *out, size_t cap)
{
    const char *v;
    if (out == NULL || cap == 0)
        return SIM_ERR_ARGS;
    if (explicit_dir != NULL && *explicit_dir != '\0')
        return put_path(out, cap, explicit_dir, NULL);
    v = getenv("VTOKEN_HOME");
    if (v != NULL && *v != '\0')
        return put_path(out, cap, v, NULL);
    v = getenv("XDG_DATA_HOME");
    if (v != NULL && *v == '/')
        return put_path(out, cap, v, "vtoken");
    v = getenv("HOME");
    if (v != NULL && *v != '\0')
        return put_path(out, cap, v, ".local/share/vtoken");
    return SIM_ERR_NOT_FOUND;
}

__attribute__((format(printf, 2, 3))) static void set_why(char **why, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (why == NULL || *why != NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *why = strdup(buf);
}

/* The configuration of a fresh home: the three factory tokens, two vpcd ports apart
 * (each vpcd reader entry has two slots, port P and P+1). */
static sim_status write_default_conf(const char *path)
{
    ks_config *c = ks_config_new();
    sim_status rv = SIM_ERR_NOMEM;
    if (c == NULL)
        return SIM_ERR_NOMEM;
    for (size_t i = 0; i < sim_profile_count(); i++) {
        const sim_profile *p = sim_profile_at(i);
        char image[64], port[16];
        size_t s = ks_config_add_section(c, "token", p->name);
        snprintf(image, sizeof(image), "tokens/%s.img", p->name);
        snprintf(port, sizeof(port), "%d", p->vpcd_port);
        if (s == (size_t)-1 || ks_config_set(c, s, "profile", p->name) != KS_OK ||
            ks_config_set(c, s, "image", image) != KS_OK ||
            ks_config_set(c, s, "vpcd_port", port) != KS_OK)
            goto out;
    }
    rv = sim_from_ks(ks_config_save(c, path));
out:
    ks_config_free(c);
    return rv;
}

static sim_status read_token(sim_home *h, const ks_config *c, size_t s, sim_token_conf *t,
                             char **why)
{
    const char *name = ks_config_section_name(c, s);
    const char *profile = ks_config_get(c, s, "profile");
    const char *image = ks_config_get(c, s, "image");
    const char *port = ks_config_get(c, s, "vpcd_port");
    char defimg[64];

    memset(t, 0, sizeof(*t));
    if (name == NULL || *name == '\0' || strlen(name) >= sizeof(t->name)) {
        set_why(why, "%s/vtoken.conf: a [token] section needs a name of 1-31 characters", h->dir);
        return SIM_ERR_CONFIG;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    if (profile == NULL || sim_profile_by_name(profile) == NULL) {
        set_why(why, "%s/vtoken.conf: [token %s]: unknown or missing profile \"%s\"", h->dir, name,
                profile != NULL ? profile : "");
        return SIM_ERR_CONFIG;
    }
    snprintf(t->profile, sizeof(t->profile), "%s", profile);
    if (image == NULL || *image == '\0') {
        snprintf(defimg, sizeof(defimg), "tokens/%.40s.img", name);
        image = defimg;
    }
    if ((image[0] == '/' ? put_path(t->image, sizeof(t->image), image, NULL)
                         : put_path(t->image, sizeof(t->image), h->dir, image)) != SIM_OK) {
        set_why(why, "%s/vtoken.conf: [token %s]: image path too long", h->dir, name);
        return SIM_ERR_CONFIG;
    }
    if (port != NULL) {
        char *end = NULL;
        long v = strtol(port, &end, 10);
        if (*port == '\0' || end == NULL || *end != '\0' || v < 1 || v > 65535) {
            set_why(why, "%s/vtoken.conf: [token %s]: vpcd_port \"%s\" is not a port number",
                    h->dir, name, port);
            return SIM_ERR_CONFIG;
        }
        t->vpcd_port = (int)v;
    }
    return SIM_OK;
}

sim_status sim_home_open(const char *dir, sim_home **out, char **why)
{
    sim_home *h = NULL;
    ks_config *c = NULL;
    char conf[4096 + 16], tokens[4096 + 16];
    char *err = NULL;
    sim_status rv = SIM_ERR_ARGS;
    ks_status st;

    if (why != NULL)
        *why = NULL;
    if (out == NULL)
        goto out;
    *out = NULL;
    rv = SIM_ERR_NOMEM;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto out;
    rv = sim_home_resolve(dir, h->dir, sizeof(h->dir));
    if (rv != SIM_OK)
        goto out;
    rv = put_path(conf, sizeof(conf), h->dir, "vtoken.conf");
    if (rv == SIM_OK)
        rv = put_path(tokens, sizeof(tokens), h->dir, "tokens");
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_mkdirs(tokens, 0700));
    if (rv != SIM_OK) {
        set_why(why, "%s: cannot create the directory", tokens);
        goto out;
    }

    st = ks_config_load(conf, &c, &err);
    if (st == KS_ERR_NOT_FOUND) {
        rv = write_default_conf(conf);
        if (rv != SIM_OK) {
            set_why(why, "%s: cannot write", conf);
            goto out;
        }
        st = ks_config_load(conf, &c, &err);
    }
    if (st != KS_OK) {
        rv = st == KS_ERR_CORRUPT ? SIM_ERR_CONFIG : sim_from_ks(st);
        if (err != NULL)
            set_why(why, "%s", err);
        else
            set_why(why, "%s: %s", conf, ks_strerror(st));
        goto out;
    }

    for (size_t s = 0; s < ks_config_section_count(c); s++) {
        const char *type = ks_config_section_type(c, s);
        sim_token_conf *grown;
        if (type == NULL || strcmp(type, "token") != 0)
            continue;
        grown = realloc(h->tokens, (h->ntokens + 1) * sizeof(*grown));
        rv = SIM_ERR_NOMEM;
        if (grown == NULL)
            goto out;
        h->tokens = grown;
        rv = read_token(h, c, s, &h->tokens[h->ntokens], why);
        if (rv != SIM_OK)
            goto out;
        h->ntokens++;
    }

    for (size_t i = 0; i < h->ntokens; i++) {
        char parent[sizeof(h->tokens[i].image)];
        char *slash;
        snprintf(parent, sizeof(parent), "%s", h->tokens[i].image);
        slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = '\0';
            rv = sim_from_ks(ks_mkdirs(parent, 0700));
            if (rv != SIM_OK) {
                set_why(why, "%s: cannot create the directory", parent);
                goto out;
            }
        }
        rv = sim_card_create(h->tokens[i].image, h->tokens[i].profile, false);
        if (rv == SIM_ERR_EXISTS)
            rv = SIM_OK;
        if (rv != SIM_OK) {
            set_why(why, "%s: cannot create the %s image: %s", h->tokens[i].image,
                    h->tokens[i].profile, sim_strerror(rv));
            goto out;
        }
    }
    *out = h;
    h = NULL;
    rv = SIM_OK;
out:
    free(err);
    ks_config_free(c);
    sim_home_close(h);
    return rv;
}

void sim_home_close(sim_home *home)
{
    if (home == NULL)
        return;
    free(home->tokens);
    free(home);
}

const char *sim_home_dir(const sim_home *home)
{
    return home != NULL ? home->dir : NULL;
}

size_t sim_home_token_count(const sim_home *home)
{
    return home != NULL ? home->ntokens : 0;
}

const sim_token_conf *sim_home_token(const sim_home *home, size_t i)
{
    return home != NULL && i < home->ntokens ? &home->tokens[i] : NULL;
}

const sim_token_conf *sim_home_find(const sim_home *home, const char *name)
{
    if (home == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < home->ntokens; i++)
        if (strcmp(home->tokens[i].name, name) == 0)
            return &home->tokens[i];
    return NULL;
}
