"""Reads a kernel-create request's env (JSON on stdin) the way Enterprise Gateway 3.x does and
prints the pod it would render (JSON), or {"refused": reason}.

Steps, as Enterprise Gateway takes them: its kernels handler checks every KERNEL_* value (a
string, at most 4,096 characters, none of $ ` \\n \\r \\0); its Kubernetes launcher lowercases
KERNEL_* names into template keywords, parses KERNEL_VOLUMES and KERNEL_VOLUME_MOUNTS with
yaml.safe_load (each must be a list of mappings), and renders its kernel-pod template through
Jinja2 with a `yaml_safe` filter (yaml.dump, flow style for lists and mappings, double-quoted
strings); the result is read back with yaml.safe_load_all. The template below holds only the
parts these variables reach (workingDir, volumeMounts, volumes), in the stock template's places.
"""
import json
import sys

import jinja2
import yaml

PROHIBITED = set("$`\n\r\x00")
PARSED = {"KERNEL_VOLUMES", "KERNEL_VOLUME_MOUNTS"}

TEMPLATE = """apiVersion: v1
kind: Pod
metadata:
  name: {{ kernel_pod_name | yaml_safe }}
spec:
  containers:
  - image: kernel-image
    name: {{ kernel_pod_name | yaml_safe }}
    {% if kernel_working_dir %}
    workingDir: {{ kernel_working_dir | yaml_safe }}
    {% endif %}
    volumeMounts:
    {% if kernel_volume_mounts %}
      {% for m in kernel_volume_mounts %}
    - {{ m | yaml_safe }}
      {% endfor %}
    {% endif %}
  volumes:
  {% if kernel_volumes %}
    {% for v in kernel_volumes %}
  - {{ v | yaml_safe }}
    {% endfor %}
  {% endif %}
"""


def yaml_safe(value):
    if isinstance(value, str):
        return yaml.dump(value, default_style='"', width=10000).strip()
    if isinstance(value, (dict, list)):
        return yaml.dump(value, default_flow_style=True, width=10000).strip()
    return yaml.dump(value, width=10000).replace("\n...", "").strip()


def main():
    env = json.load(sys.stdin)
    keywords = {"kernel_pod_name": "kernel-1"}
    for name, value in env.items():
        if not name.startswith("KERNEL_"):
            continue
        if not isinstance(value, str):
            return {"refused": f"{name} is not a string"}
        if len(value) > 4096:
            return {"refused": f"{name} exceeds maximum length"}
        if PROHIBITED.intersection(value):
            return {"refused": f"{name} contains prohibited characters"}
        if name in PARSED:
            parsed = yaml.safe_load(value)
            if not isinstance(parsed, list) or not all(isinstance(i, dict) for i in parsed):
                return {"refused": f"{name} must be a YAML list of mappings"}
            keywords[name.lower()] = parsed
        else:
            keywords[name.lower()] = value
    j_env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    j_env.filters["yaml_safe"] = yaml_safe
    rendered = j_env.from_string(TEMPLATE).render(**keywords)
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    return {"pods": docs}


print(json.dumps(main()))
