/* The provider preset table (see presets.h). Values are what each provider
 * documents for using Claude Code against its Anthropic-compatible endpoint;
 * the source of each row is in its comment and in .source. Auth follows the
 * documented variable: ANTHROPIC_API_KEY is sent as x-api-key,
 * ANTHROPIC_AUTH_TOKEN as Authorization: Bearer. A provider that maps Claude
 * model names itself gets no models map. Maps are globs (schema/modelglob.h)
 * so the next Claude model name (claude-opus-5-5) is mapped too: family
 * globs first, then "claude-*" for any other Claude name; names that are
 * not Claude's pass unchanged. Only rows we could source. */
#include "presets.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* https://docs.z.ai/devpack/tool/claude and https://docs.bigmodel.cn/cn/coding-plan/tool/claude:
 * ANTHROPIC_AUTH_TOKEN + .../api/anthropic; the documented manual mapping is
 * haiku -> glm-4.5-air, sonnet/opus -> glm-4.7. */
static const struct qcc_preset_model glm_models[] = {
    {"claude-*opus*", "glm-4.7"},
    {"claude-*sonnet*", "glm-4.7"},
    {"claude-*haiku*", "glm-4.5-air"},
    {"claude-*", "glm-4.7"},
};

/* https://www.alibabacloud.com/help/en/model-studio/claude-code:
 * ANTHROPIC_MODEL=qwen3-coder-plus (flash for light tasks). */
static const struct qcc_preset_model qwen_models[] = {
    {"claude-*opus*", "qwen3-coder-plus"},
    {"claude-*sonnet*", "qwen3-coder-plus"},
    {"claude-*haiku*", "qwen3-coder-flash"},
    {"claude-*", "qwen3-coder-plus"},
};

/* https://platform.minimax.io/docs/api-reference/text-anthropic-api: MiniMax-M2.7. */
static const struct qcc_preset_model minimax_models[] = {
    {"claude-*", "MiniMax-M2.7"},
};

/* Kimi K2 model ids as listed by Moonshot's platform (kimi-k2.5). */
static const struct qcc_preset_model kimi_models[] = {
    {"claude-*", "kimi-k2.5"},
};

static const struct qcc_preset presets[] = {
    /* https://docs.anthropic.com/en/api/getting-started: x-api-key header. */
    {"anthropic", "Anthropic API (official)", "https://api.anthropic.com", QCC_AUTH_X_API_KEY,
     "ANTHROPIC_API_KEY", "anthropic", NULL, 0,
     "https://docs.anthropic.com/en/api/getting-started"},
    /* https://docs.z.ai/devpack/tool/claude (GLM Coding Plan, international). */
    {"zai", "Z.ai GLM (international)", "https://api.z.ai/api/anthropic", QCC_AUTH_BEARER,
     "ZAI_API_KEY", "zai", glm_models, N(glm_models), "https://docs.z.ai/devpack/tool/claude"},
    /* https://docs.bigmodel.cn/cn/coding-plan/tool/claude (Zhipu, mainland China). */
    {"zhipu", "Zhipu GLM / bigmodel.cn (China)", "https://open.bigmodel.cn/api/anthropic",
     QCC_AUTH_BEARER, "ZHIPU_API_KEY", "zhipu", glm_models, N(glm_models),
     "https://docs.bigmodel.cn/cn/coding-plan/tool/claude"},
    /* https://platform.moonshot.ai (Kimi API); Claude Code setup with
     * ANTHROPIC_AUTH_TOKEN + https://api.moonshot.ai/anthropic as described at
     * https://kimi-k25.com/blog/kimi-k2-5-claude-code (no first-party page found). */
    {"moonshot", "Moonshot Kimi (international)", "https://api.moonshot.ai/anthropic",
     QCC_AUTH_BEARER, "MOONSHOT_API_KEY", "moonshot", kimi_models, N(kimi_models),
     "https://kimi-k25.com/blog/kimi-k2-5-claude-code"},
    /* Same source: the China domain is api.moonshot.cn. */
    {"moonshot-cn", "Moonshot Kimi (China)", "https://api.moonshot.cn/anthropic", QCC_AUTH_BEARER,
     "MOONSHOT_API_KEY", "moonshot", kimi_models, N(kimi_models),
     "https://kimi-k25.com/blog/kimi-k2-5-claude-code"},
    /* https://api-docs.deepseek.com/guides/anthropic_api: x-api-key; the API
     * maps claude-opus* -> deepseek-v4-pro and other claude* names itself. */
    {"deepseek", "DeepSeek", "https://api.deepseek.com/anthropic", QCC_AUTH_X_API_KEY,
     "DEEPSEEK_API_KEY", "deepseek", NULL, 0, "https://api-docs.deepseek.com/guides/anthropic_api"},
    /* https://www.alibabacloud.com/help/en/model-studio/claude-code (Singapore,
     * pay-as-you-go): ANTHROPIC_API_KEY + .../apps/anthropic. */
    {"dashscope", "Alibaba Qwen / Model Studio (international)",
     "https://dashscope-intl.aliyuncs.com/apps/anthropic", QCC_AUTH_X_API_KEY, "DASHSCOPE_API_KEY",
     "dashscope", qwen_models, N(qwen_models),
     "https://www.alibabacloud.com/help/en/model-studio/claude-code"},
    /* https://help.aliyun.com/zh/model-studio/claude-code (Beijing). */
    {"dashscope-cn", "Alibaba Qwen / Bailian (China)",
     "https://dashscope.aliyuncs.com/apps/anthropic", QCC_AUTH_X_API_KEY, "DASHSCOPE_API_KEY",
     "dashscope", qwen_models, N(qwen_models),
     "https://help.aliyun.com/zh/model-studio/claude-code"},
    /* https://platform.minimax.io/docs/api-reference/text-anthropic-api: ANTHROPIC_API_KEY. */
    {"minimax", "MiniMax (international)", "https://api.minimax.io/anthropic", QCC_AUTH_X_API_KEY,
     "MINIMAX_API_KEY", "minimax", minimax_models, N(minimax_models),
     "https://platform.minimax.io/docs/api-reference/text-anthropic-api"},
    /* https://platform.minimaxi.com/docs/api-reference/text-anthropic-api (China). */
    {"minimax-cn", "MiniMax (China)", "https://api.minimaxi.com/anthropic", QCC_AUTH_X_API_KEY,
     "MINIMAX_API_KEY", "minimax", minimax_models, N(minimax_models),
     "https://platform.minimaxi.com/docs/api-reference/text-anthropic-api"},
    /* https://openrouter.ai/docs/guides/coding-agents/claude-code-integration:
     * ANTHROPIC_BASE_URL=https://openrouter.ai/api, key as ANTHROPIC_AUTH_TOKEN. */
    {"openrouter", "OpenRouter", "https://openrouter.ai/api", QCC_AUTH_BEARER, "OPENROUTER_API_KEY",
     "openrouter", NULL, 0,
     "https://openrouter.ai/docs/guides/coding-agents/claude-code-integration"},
};

size_t qcc_preset_count(void) { return N(presets); }

const struct qcc_preset *qcc_preset_at(size_t i) { return i < N(presets) ? &presets[i] : NULL; }

const struct qcc_preset *qcc_preset_find(const char *name) {
  for (size_t i = 0; i < N(presets); i++)
    if (strcmp(presets[i].name, name) == 0)
      return &presets[i];
  return NULL;
}
