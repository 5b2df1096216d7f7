#!/usr/bin/env python3
"""Regenerates jinja_cases.json and chat_cases.json: each case's expected text (or error) is what
real Jinja2 renders, configured as transformers' apply_chat_template does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its
tojson, raise_exception). Run from this folder: python3 make_jinja_cases.py"""
import json
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols


def raise_exception(message):
    raise RuntimeError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def render(template, context):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(**context)


MSGS = [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "2+2?"}]

CASES = [
    # name, template, context
    ("text", "plain text", {}),
    ("trailing_newline_dropped", "a\n", {}),
    ("crlf_normalized", "a\r\nb\rc", {}),
    ("var", "{{ x }}", {"x": "v"}),
    ("none_true_false_print", "{{ none }} {{ true }} {{ False }} {{ n }}", {"n": None}),
    ("numbers", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 1.5 + 1 }} {{ 4 / 2 }}", {}),
    ("float_repr", "{{ 0.1 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 3.0 }} {{ 100.0 }} {{ x }}", {"x": 12345678.9}),
    ("concat", "{{ 'a' ~ 1 ~ none }} {{ 'a' + 'b' }} {{ [1] + [2] }}", {}),
    ("string_repeat", "{{ 'ab' * 3 }}{{ '-' * 0 }}", {}),
    ("compare", "{{ 1 < 2 }} {{ 'a' == 'a' }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ 3 >= 3 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }}", {}),
    ("logic", "{{ true and false }} {{ 0 or 'x' }} {{ not none }} {{ '' or [] }} {{ 1 and 2 }}", {}),
    ("in", "{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 3 not in [1] }}", {"d": {"k": 1}}),
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is string }} {{ 1 is number }} "
              "{{ d is mapping }} {{ l is iterable }} {{ l is sequence }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} "
              "{{ x is not none }} {{ true is boolean }} {{ 1 is integer }} {{ 1.0 is float }} {{ x is lower }} {{ n is not defined }}",
     {"x": "s", "n": None, "d": {}, "l": [1]}),
    ("if_elif_else", "{% for v in [1, 2, 3] %}{% if v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    ("for_loop_vars", "{% for x in 'abc' %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %}", {}),
    ("for_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_dict_keys", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is even %}{{ x }}{{ loop.length }} {% endfor %}", {}),
    ("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("loop_cycle_prev_next", "{% for x in [1,2,3] %}{{ loop.cycle('a','b') }}{{ loop.previtem }}{{ loop.nextitem }},{% endfor %}", {}),
    ("outer_loop_cycle", "{% for i in [1,2] %}{% set outer = loop %}{% for j in [1,2,3] %}{{ outer.cycle('a','b') }}{{ loop.cycle('x','y') }}{{ outer.index }} {% endfor %}{% endfor %}", {}),
    ("loop_scope_per_iteration", "{% set x = 5 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", {}),
    ("nested_loops", "{% for a in [1,2] %}{% for b in [3,4] %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("set_scoping", "{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set x = 9 %}{% endif %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(found=false, n=0) %}{% for m in msgs %}{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}", {"msgs": MSGS}),
    ("set_block", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("attr_and_index", "{{ m.role }} {{ m['content'] }} {{ l[0] }} {{ l[-1] }} {{ m.missing }}|{{ l[9] }}|{{ d.a.b }}", {"m": MSGS[1], "l": [1, 2, 3], "d": {"a": {"b": "deep"}}}),
    ("slicing", "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[::2] }} {{ s[1:3] }} {{ s[::-1] }} {{ l[5:] }}", {"l": [1, 2, 3, 4], "s": "héllo"}),
    ("slice_huge_steps", "{{ l[::9223372036854775807] }} {{ l[::-9223372036854775807] }} {{ l[-9223372036854775807:9223372036854775807] }}", {"l": [1, 2, 3]}),
    ("messages_slice_loop", "{% for m in messages[1:] %}{{ m.role }};{% endfor %}", {"messages": MSGS}),
    ("inline_if", "{{ 'y' if x else 'n' }} {{ 'y' if not x else 'n' }} [{{ 'only' if false }}]", {"x": 1}),
    ("filters_basic", "{{ s | trim }}|{{ s | length }}|{{ s | upper }}|{{ s | lower }}|{{ l | length }}|{{ l | first }}|{{ l | last }}|{{ l | join(', ') }}|{{ s | replace('b', 'X') }}",
     {"s": "  aBc  ", "l": ["x", "y", "z"]}),
    ("filter_default", "{{ u | default('dflt') }} {{ n | default('dflt') }} {{ '' | default('e', true) }} {{ u | d('d2') }}", {"n": None}),
    ("filter_chain_precedence", "{{ 'a' + s | trim + 'b' }} {{ -1 | abs }} {{ l | length > 1 }}", {"s": "  x  ", "l": [1, 2]}),
    ("filters_more", "{{ 'hello world' | title }} {{ 'hello' | capitalize }} {{ [3, 1, 2] | sort }} {{ [1, 1, 2] | unique | list }} {{ 'abc' | reverse }} {{ '42' | int + 1 }} {{ '1.5' | float }} {{ 3 | string ~ 'x' }} {{ [1, 2, 3] | sum }} {{ [4, 2, 9] | min }}{{ [4, 2, 9] | max }}",
     {}),
    ("selectattr_map", "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ messages | rejectattr('role', 'eq', 'user') | list | length }} {{ [0, 1, 2] | select | list }} {{ ['a', 'b'] | map('upper') | join }}", {"messages": MSGS}),
    ("dict_items_filter", "{% for k, v in d | dictsort %}{{ k }}{{ v }}{% endfor %} {% for k, v in d | items %}{{ k }}{% endfor %}", {"d": {"b": 2, "a": 1}}),
    ("tojson_basic", "{{ x | tojson }}", {"x": {"a": [1, 2.5, None, True, "é\"\\\n\t\u0001"], "b": {}, "c": [], "d": "x/y<>&'"}}),
    ("tojson_indent", "{{ x | tojson(indent=4) }}", {"x": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, "empty": [], "e2": {}}}),
    ("tojson_options", "{{ x | tojson(sort_keys=true) }} {{ x | tojson(separators=(',', ':')) }} {{ 'ü' | tojson(ensure_ascii=true) }} {{ '😀' | tojson(ensure_ascii=true) }}", {"x": {"b": 1, "a": [1, 2]}}),
    ("string_methods", "{{ s.startswith('ab') }} {{ s.endswith('yz') }} {{ s.startswith(('x', 'a')) }} [{{ p.strip() }}] [{{ p.lstrip() }}] [{{ p.rstrip() }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'xxhixx'.strip('x') }} {{ 'a-b-c'.split('-', 1) }} {{ s.upper() }} {{ 'Hi'.lower() }} {{ 'a b'.replace(' ', '_') }} {{ 'abcabc'.find('c') }} {{ '-'.join(['a', 'b']) }} {{ 'l1\\nl2'.splitlines() }} {{ 'hello world'.title() }} {{ 'abcabc'.count('bc') }}",
     {"s": "abcxyz", "p": "  pad  "}),
    ("dict_methods", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d.keys() | list }} {{ d.values() | list }} {{ d['items'] is defined }}", {"d": {"a": 1, "b": 2}}),
    ("whitespace_control", "a  {{- 'b' -}}  c\n  {%- if true -%}\n  d\n  {%- endif -%}  \n e", {}),
    ("unicode_whitespace_control", "a\u00a0\u3000 {%- if true -%} \u2003\nb{% endif %}\n\u00a0 {% if true %}c{% endif %}\n\f {% if true %}d{% endif %}", {}),
    ("trim_lstrip_blocks", "<ul>\n    {% for x in [1, 2] %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>\n", {}),
    ("plus_modifiers", "a\n    {%+ if true %}x{% endif +%}\nb", {}),
    ("comments", "a {# comment #} b\n  {# own line #}\nc {#- strip -#} d", {}),
    ("raw_block", "{% raw %}{{ not rendered }}{% endraw %}", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e' }}|{{ \"q\\\"q\" }}|{{ '\\u00e9\\x41' }}|{{ 'keep\\d' }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}", {}),
    ("range_variants", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }}", {}),
    ("dict_literal_and_list", "{{ {'a': 1, 'b': [1, 2]} | tojson }} {{ [1, 'two', none] }} {{ {'k': 'v'} }}", {}),
    ("python_repr", "{{ ['it\\'s', \"q\\\"\", 1.0, true, none] }} {{ {'a': {'b': 1}} }}", {}),
    ("unicode_length", "{{ 'héllo😀' | length }} {{ 'héllo😀'[1] }} {{ 'héllo😀'[-1] }}", {}),
    ("raise_exception", "{% if messages[0].role != 'system' %}{{ raise_exception('System message required') }}{% endif %}", {"messages": [{"role": "user", "content": "x"}]}),
    ("undefined_attribute_error", "{{ nothing.attr }}", {}),
    ("unknown_filter_error", "{{ 1 | no_such_filter }}", {}),
    ("is_defined_on_missing_key", "{% if m.tool_calls is defined %}tc{% else %}none{% endif %} {{ m.tool_calls | length }} {% for t in m.tool_calls %}x{% endfor %}.", {"m": {"role": "user"}}),
    ("tool_call_arguments", "{% for tc in m.tool_calls %}{% if tc.function is defined %}{% set tc = tc.function %}{% endif %}{{ tc.name }}{{ tc.arguments | tojson }}{% endfor %}",
     {"m": {"tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": [1, {"y": None}]}}}]}}),
    ("lstrip_not_for_vars", "  {{ 'x' }}\n  {% if true %}y{% endif %}\n  z", {}),
    ("block_mid_line", "a {% if true %}b{% endif %} c\n  {% if false %}{% endif %}d", {}),
    ("comment_line_trim", "a\n  {# c #}\nb\n{#- c2 #}  c", {}),
    ("round", "{{ 2.5 | round }} {{ 3.5 | round }} {{ 3.14159 | round(2) }} {{ 2.7 | round(method='floor') }} {{ 2.1 | round(method='ceil') }}", {}),
    ("string_compare_sort", "{{ 'abc' < 'abd' }} {{ ['b', 'A', 'a'] | sort }} {{ ['b', 'A', 'a'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }}", {}),
    ("reverse_loop_index", "{% for m in messages[::-1] %}{{ (messages | length - 1) - loop.index0 }}{{ m.role[0] }} {% endfor %}", {"messages": MSGS}),
    ("integer_division_by_zero_error", "{{ 1 // 0 }}", {}),
    ("string_plus_int_error", "{{ 'a' + 1 }}", {}),
]


def main():
    out = []
    for name, template, context in CASES:
        case = {"name": name, "template": template, "context": context}
        try:
            case["expected"] = render(template, context)
        except Exception as e:  # the C++ side must fail too
            case["error"] = type(e).__name__ + ": " + str(e)
        out.append(case)
    with open("jinja_cases.json", "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


# ---- whole chat templates rendered through apr::ChatTemplate ---------------
# Variables as transformers passes them: messages, tools (None when absent),
# add_generation_prompt, bos_token, eos_token.

GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
         "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
         "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
         "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
         "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
         "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

MISTRAL = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City, e.g. Paris"}},
                                                         "required": ["city"]}}}]
CALL = [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
BASIC = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "  Ünïcode \"q\"  "}]
WITH_SYSTEM = [{"role": "system", "content": " Be terse. "}] + BASIC
TOOL_CHAT = [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": "", "tool_calls": CALL}, {"role": "tool", "content": "{\"temp_c\": 21}"}]

THINKING = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"},
            {"role": "user", "content": "and 3+3?"}]

LLAMA = open("llama3.1_template.jinja", encoding="utf-8").read()
LLAMA_TOKENS = ("<|begin_of_text|>", "<|eot_id|>")

CHAT_CASES = [
    # name, template file or inline source, (bos, eos), messages, tools, add_generation_prompt
    ("llama3_basic", "llama3.1_template.jinja", LLAMA_TOKENS, BASIC, None, True),
    ("llama3_system", "llama3.1_template.jinja", LLAMA_TOKENS, WITH_SYSTEM, None, False),
    ("llama3_tools", "llama3.1_template.jinja", LLAMA_TOKENS, TOOL_CHAT, TOOLS, True),
    ("llama3_two_tool_calls_error", "llama3.1_template.jinja", LLAMA_TOKENS,
     [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": CALL + CALL}], None, True),
    ("gemma_basic", GEMMA, ("<bos>", "<eos>"), BASIC, None, True),
    ("gemma_alternation_error", GEMMA, ("<bos>", "<eos>"), [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], None, True),
    ("mistral_system", MISTRAL, ("<s>", "</s>"), WITH_SYSTEM, None, False),
    ("qwen3_thinking", "qwen3_template.jinja", ("", "<|im_end|>"), THINKING, None, True),
    ("qwen3_tools", "qwen3_template.jinja", ("", "<|im_end|>"), TOOL_CHAT + [{"role": "assistant", "content": "<think>\nsunny\n</think>\n\nIt is 21 C."}], TOOLS, False),
]


def main_chat():
    out = []
    for name, template, (bos, eos), messages, tools, agp in CHAT_CASES:
        is_file = template.endswith(".jinja")
        source = open(template, encoding="utf-8").read() if is_file else template
        case = {"name": name, "bos_token": bos, "eos_token": eos, "messages": messages, "add_generation_prompt": agp}
        if is_file:
            case["template_file"] = template
        else:
            case["template"] = template
        if tools is not None:
            case["tools"] = tools
        try:
            case["expected"] = render(source, {"messages": messages, "tools": tools, "add_generation_prompt": agp,
                                               "bos_token": bos, "eos_token": eos})
        except Exception as e:
            case["error"] = type(e).__name__ + ": " + str(e)
        out.append(case)
    with open("chat_cases.json", "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
    main_chat()
