#include "config.h"

#include <stdlib.h>

static void free_pairs(struct qcc_pair *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].key);
    free(p[i].value);
  }
  free(p);
}

void qcc_config_free(struct qcc_config **cfg) {
  if (cfg == NULL || *cfg == NULL) return;
  struct qcc_config *c = *cfg;
  for (size_t i = 0; i < c->profile_count; i++) {
    struct qcc_profile_cfg *p = &c->profiles[i];
    for (size_t j = 0; j < p->endpoint_count; j++) {
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      free(e->id);
      free(e->from);
      free(e->base_url);
      free(e->key.value);
      free(e->ca_file);
      free(e->proxy);
      free(e->proxy_credentials_env);
      free_pairs(e->models, e->model_count);
      free_pairs(e->metadata, e->metadata_count);
    }
    free(p->endpoints);
    free(p->name);
    free(p->description);
  }
  free(c->profiles);
  for (size_t i = 0; i < c->token_count; i++) {
    free(c->tokens[i].name);
    free(c->tokens[i].key.value);
  }
  free(c->tokens);
  free(c->settings.host);
  free(c->settings.tls_cert);
  free(c->settings.tls_key);
  free(c->settings.tls_ca_file);
  free(c->settings.tls_ca_path);
  free(c->settings.alerts_exec);
  free(c->settings.alerts_webhook);
  for (size_t i = 0; i < c->file_count; i++) free(c->files[i]);
  free(c->files);
  free(c);
  *cfg = NULL;
}
