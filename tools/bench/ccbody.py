#!/usr/bin/env python3
"""ccbody.py: a request body shaped like Claude Code's, of about SIZE bytes.

    tools/bench/ccbody.py SIZE [OUT] [--seed N] [--model NAME] [--no-stream] [--nested-model]

SIZE is bytes, or with a k/m suffix (50k, 1m). The body is what Claude Code
sends on a late turn: "model", a long "messages" history (user text, assistant
text + tool_use, user tool_result with file contents full of quotes,
backslashes, newlines and non-ASCII), "system" blocks with cache_control,
"tools" with JSON Schemas, "metadata": {"user_id"}, "max_tokens", "stream".
The history is what grows: it is extended turn by turn until the body
reaches SIZE (within one turn, about 2 KB); below about 2.5 KB the body is
one short user message with one tool. Deterministic for a seed.

--nested-model: the Task tool's schema has a "model" property and every
eighth turn is a Task call whose input names a model (as Claude Code sends
when a subagent runs on another model): nested "model" keys in the history
and the tools, none of them top-level.
"""
import json
import random
import sys

WORDS = ("the function returns error value when buffer parser table endpoint request "
         "stream session cache header connection retry timeout field struct pointer "
         "index length offset bytes config key model token upstream client loop").split()
CODE = [
    'static int parse(const char *s, size_t n) {\n\tif (s[0] == \'"\') return -1;\n',
    '  printf("%s: \\"%d\\"\\n", name, rc);\n',
    '    path = "C:\\\\Users\\\\dev\\\\project";  // Windows path\n',
    '# r\u00e9sum\u00e9 \u2014 \u4e2d\u6587 \U0001F600 caf\u00e9\n',
    '  for (size_t i = 0; i < len; i++) { buf[i] = (char)(i & 0x7f); }\n',
    'def main():\n    data = {"a": [1, 2, 3], "b": {"c": None}}\n    return json.dumps(data)\n',
]
TOOLS = ["Task", "Bash", "Glob", "Grep", "LS", "ExitPlanMode", "Read", "Edit", "MultiEdit",
         "Write", "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell"]


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def code(rng, lines):
    return "".join(rng.choice(CODE) for _ in range(lines))


def tool(rng, name, nested=False):
    t = {
        "name": name,
        "description": words(rng, 120),
        "input_schema": {
            "type": "object",
            "properties": {
                "file_path": {"type": "string", "description": words(rng, 12)},
                "offset": {"type": "number", "description": words(rng, 8)},
                "limit": {"type": "number", "description": words(rng, 8)},
                "edits": {"type": "array", "items": {"type": "object", "properties": {
                    "old_string": {"type": "string"}, "new_string": {"type": "string"},
                    "replace_all": {"type": "boolean", "default": False}},
                    "required": ["old_string", "new_string"], "additionalProperties": False}},
            },
            "required": ["file_path"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }
    if nested and name == "Task":
        t["input_schema"]["properties"]["model"] = {
            "type": "string", "enum": ["sonnet", "opus", "haiku"],
            "description": "The model for this agent"}
    return t


def turn(rng, k, nested=False):
    tid = "toolu_%024x" % rng.getrandbits(96)
    t = [
        {"role": "user", "content": [{"type": "text", "text": words(rng, 30)}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": words(rng, 40)},
            {"type": "tool_use", "id": tid, "name": rng.choice(TOOLS),
             "input": {"file_path": "/src/qcc/runtime/file%d.c" % k, "limit": 200}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tid, "content": code(rng, 12)}]},
    ]
    if nested and k % 8 == 3:
        t[1]["content"][1]["name"] = "Task"
        t[1]["content"][1]["input"] = {"description": "Explore the parser",
                                       "prompt": "Find where \"model\" is read",
                                       "subagent_type": "general-purpose", "model": "haiku"}
    return t


def body(size, seed=1, model="claude-sonnet-4-5", stream=True, nested=False):
    rng = random.Random(seed)
    doc = {
        "model": model,
        "messages": [],
        "temperature": 1,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": words(rng, 150), "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [tool(rng, n, nested) for n in TOOLS],
        "metadata": {"user_id": "user_%064x_account_%s_session_%s" % (
            rng.getrandbits(256), "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")},
        "max_tokens": 32000,
        "stream": stream,
    }
    out = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if len(out.encode()) > size:  # the smallest shape: one short turn, two tools
        doc["tools"] = [{"name": "Read", "description": words(rng, 10), "input_schema": {
            "type": "object", "properties": {"file_path": {"type": "string"}},
            "required": ["file_path"]}}]
        doc["system"] = doc["system"][:1]
        doc["messages"] = [{"role": "user", "content": words(rng, 20)}]
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    k = 0
    have = len(out.encode())
    while True:
        t = turn(rng, k, nested)
        k += 1
        doc["messages"].extend(t)
        have += len(json.dumps(t, ensure_ascii=False, separators=(",", ":")).encode())
        if have >= size:
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def parse_size(s):
    mult = {"k": 1024, "m": 1024 * 1024}.get(s[-1:].lower(), 1)
    return int(s[:-1] if mult > 1 else s) * mult


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = dict(zip(argv, argv[1:]))
    if not args:
        sys.exit(__doc__)
    data = body(parse_size(args[0]), int(opts.get("--seed", 1)),
                opts.get("--model", "claude-sonnet-4-5"), "--no-stream" not in argv,
                "--nested-model" in argv)
    if len(args) > 1:
        with open(args[1], "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
