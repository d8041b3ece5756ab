#!/usr/bin/env python3
"""Writes ChatBackend.Tests/Schemas/kubernetes-strict.json: the Kubernetes API's definitions of the kinds the
Kubernetes output uses, as one strict JSON Schema (draft-07), from the OpenAPI document (swagger.json) of Kubernetes
that Debian 12 ships in golang-k8s-kube-openapi-dev (k8s.io/kube-openapi, pkg/schemaconv/testdata/swagger.json).
The conversion is kubeconform's (openapi2jsonschema --strict): objects take no property they do not define,
int-or-string is a string or an integer, a Quantity a string or a number, each kind's apiVersion and kind are fixed.
Run from the repository's root: python3 eng/kubernetes-schemas.py (apt-get download needs the package lists)."""
import glob, json, os, subprocess, sys, tempfile

PACKAGE = "golang-k8s-kube-openapi-dev"
SWAGGER = "usr/share/gocode/src/k8s.io/kube-openapi/pkg/schemaconv/testdata/swagger.json"
KINDS = ["io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.StatefulSet", "io.k8s.api.batch.v1.Job",
         "io.k8s.api.core.v1.Service", "io.k8s.api.core.v1.Secret", "io.k8s.api.core.v1.ConfigMap"]
OUT = "ChatBackend.Tests/Schemas/kubernetes-strict.json"

work = tempfile.mkdtemp()
subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True, stdout=subprocess.DEVNULL)
deb = glob.glob(os.path.join(work, "*.deb"))[0]
subprocess.run(["dpkg-deb", "-x", deb, work], check=True)
swagger = json.load(open(os.path.join(work, SWAGGER)))
definitions = swagger["definitions"]

def convert(node):
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string":
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    result = {}
    for key, value in node.items():
        if key == "$ref":
            result[key] = value  # already "#/definitions/NAME"
        elif key.startswith("x-kubernetes-"):
            continue
        elif key == "properties":
            result[key] = {name: convert(prop) for name, prop in value.items()}
        else:
            result[key] = convert(value)
    if "properties" in result:
        result["additionalProperties"] = False
        result.setdefault("type", "object")
    return result

used, pending = {}, list(KINDS)
while pending:
    name = pending.pop()
    if name in used:
        continue
    if name == "io.k8s.apimachinery.pkg.api.resource.Quantity":
        used[name] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
        continue
    definition = convert(definitions[name])
    for gvk in definitions[name].get("x-kubernetes-group-version-kind", []):
        if name in KINDS:
            api_version = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
            definition["properties"]["apiVersion"] = {"type": "string", "enum": [api_version]}
            definition["properties"]["kind"] = {"type": "string", "enum": [gvk["kind"]]}
            definition["required"] = sorted(set(definition.get("required", [])) | {"apiVersion", "kind"})
    used[name] = definition
    text = json.dumps(definition)
    start = 0
    while (start := text.find('"#/definitions/', start)) >= 0:
        end = text.index('"', start + 1)
        pending.append(text[start + len('"#/definitions/'):end])
        start = end

version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True, check=True).stdout.strip()
schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$comment": f"Kubernetes {swagger['info']['version']} API definitions, from the OpenAPI document in Debian 12's "
                f"{PACKAGE} {version} ({SWAGGER}), converted by eng/kubernetes-schemas.py (strict, as kubeconform's).",
    "kinds": {name.split(".")[-1]: f"#/definitions/{name}" for name in KINDS},
    "definitions": dict(sorted(used.items())),
}
with open(OUT, "w") as out:
    json.dump(schema, out, indent=1, sort_keys=False)
    out.write("\n")
print(f"{OUT}: {len(used)} definitions, Kubernetes {swagger['info']['version']}, {PACKAGE} {version}", file=sys.stderr)
