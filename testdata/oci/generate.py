#!/usr/bin/env python3
# Builds a small but real multi-platform image as an OCI layout, plus Docker
# schema2 documents, from actual tar layers. Digests are computed from bytes.
import gzip, hashlib, io, json, os, subprocess, tarfile, base64

OUT = os.path.dirname(os.path.abspath(__file__))
LAYOUT = os.path.join(OUT, "layout")
BLOBS = os.path.join(LAYOUT, "blobs", "sha256")
os.makedirs(BLOBS, exist_ok=True)

def sha(b): return "sha256:" + hashlib.sha256(b).hexdigest()

def put(b):
    d = sha(b)
    with open(os.path.join(BLOBS, d[7:]), "wb") as f: f.write(b)
    return d

def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in files:
            if data is None:
                ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = mode; ti.mtime = 1700000000
                t.addfile(ti)
            else:
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.mtime = 1700000000
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

def gz(b): return gzip.compress(b, mtime=0)
def zst(b): return subprocess.run(["zstd", "-q", "-c", "-3"], input=b, capture_output=True, check=True).stdout

def compact(o): return json.dumps(o, separators=(",", ":")).encode()

def image(arch, variant, compress, layer_mt):
    l1 = tar_of([("etc", None, 0o755), ("etc/os-release", b"NAME=Berth Bench\nID=berth\n", 0o644),
                 ("bin", None, 0o755), ("bin/hello", ("#!/bin/sh\necho hello from %s\n" % arch).encode(), 0o755)])
    l2 = tar_of([("app", None, 0o755), ("app/config.toml", b"listen = \"127.0.0.1:8080\"\n", 0o644),
                 ("etc", None, 0o755), ("etc/.wh.motd", b"", 0o644)])
    layers, diff_ids = [], []
    for t in (l1, l2):
        c = compress(t)
        layers.append({"mediaType": layer_mt, "digest": put(c), "size": len(c)})
        diff_ids.append(sha(t))
    cfg = {"architecture": arch, "os": "linux"}
    if variant: cfg["variant"] = variant
    cfg.update({
        "created": "2025-05-20T10:11:12.123456789Z",
        "config": {"User": "1000:1000", "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_MODE=bench"],
                   "Entrypoint": ["/bin/hello"], "Cmd": ["--serve"], "WorkingDir": "/app",
                   "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
                   "Labels": {"org.opencontainers.image.title": "bench"}, "StopSignal": "SIGTERM"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2025-05-20T10:11:10Z", "created_by": "ADD rootfs.tar /", "comment": "buildkit.dockerfile.v0"},
            {"created": "2025-05-20T10:11:11Z", "created_by": "ENV APP_MODE=bench", "comment": "buildkit.dockerfile.v0", "empty_layer": True},
            {"created": "2025-05-20T10:11:12Z", "created_by": "COPY app /app # buildkit", "comment": "buildkit.dockerfile.v0"}]})
    cb = compact(cfg)
    return cb, layers, diff_ids

index_entries = []
for arch, variant in (("amd64", ""), ("arm64", "v8")):
    cb, layers, diff_ids = image(arch, variant, gz, "application/vnd.oci.image.layer.v1.tar+gzip")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cb), "size": len(cb)},
         "layers": layers}
    mb = compact(m)
    plat = {"architecture": arch, "os": "linux"}
    if variant: plat["variant"] = variant
    index_entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mb), "size": len(mb), "platform": plat})
    if arch == "amd64": amd64_manifest = (mb, m)
# An attestation manifest as BuildKit writes one, with the unknown/unknown platform.
att_cfg = b'{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
att = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(att_cfg), "size": len(att_cfg)},
       "layers": []}
ab = compact(att)
index_entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(ab), "size": len(ab),
                      "annotations": {"vnd.docker.reference.digest": index_entries[0]["digest"], "vnd.docker.reference.type": "attestation-manifest"},
                      "platform": {"architecture": "unknown", "os": "unknown"}})
idx = compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index_entries})
idx_d = put(idx)
with open(os.path.join(LAYOUT, "oci-layout"), "wb") as f: f.write(b'{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(LAYOUT, "index.json"), "wb") as f:
    f.write(compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idx_d, "size": len(idx),
                                    "annotations": {"io.containerd.image.name": "localhost:5000/bench/app:1.0", "org.opencontainers.image.ref.name": "1.0"}}]}))

# zstd variant of the amd64 image, in its own layout.
ZL = os.path.join(OUT, "layout-zstd"); os.makedirs(os.path.join(ZL, "blobs", "sha256"), exist_ok=True)
BLOBS = os.path.join(ZL, "blobs", "sha256")
cb, layers, diff_ids = image("amd64", "", zst, "application/vnd.oci.image.layer.v1.tar+zstd")
zm = compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cb), "size": len(cb)}, "layers": layers})
zd = put(zm)
with open(os.path.join(ZL, "oci-layout"), "wb") as f: f.write(b'{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(ZL, "index.json"), "wb") as f:
    f.write(compact({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": zd, "size": len(zm),
                                    "platform": {"architecture": "amd64", "os": "linux"},
                                    "annotations": {"org.opencontainers.image.ref.name": "1.0-zstd"}}]}))

# Docker schema2 documents as Docker Hub serves them (3-space indentation), same amd64 layers.
BLOBS = os.path.join(LAYOUT, "blobs", "sha256")
m = amd64_manifest[1]
dcfg_obj = json.loads(open(os.path.join(BLOBS, m["config"]["digest"][7:]), "rb").read())
dcfg_obj["config"].update({"Hostname": "", "Domainname": "", "AttachStdin": False, "Tty": False, "OnBuild": None, "Shell": None})
dcfg_obj["container_config"] = {"Hostname": "", "Cmd": None, "Entrypoint": None, "Labels": None}
dcfg_obj["docker_version"] = "24.0.7"
dcfg = compact(dcfg_obj)
with open(os.path.join(OUT, "docker_config.json"), "wb") as f: f.write(dcfg)
dm = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(dcfg), "digest": sha(dcfg)},
      "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": l["size"], "digest": l["digest"]} for l in m["layers"]]}
dmb = json.dumps(dm, indent=3).encode()
with open(os.path.join(OUT, "docker_manifest.json"), "wb") as f: f.write(dmb)
dl = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": len(dmb), "digest": sha(dmb),
                     "platform": {"architecture": "amd64", "os": "linux"}},
                    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1357, "digest": sha(b"arm v7 manifest"),
                     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
                    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1357, "digest": sha(b"arm v6 manifest"),
                     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}},
                    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1360, "digest": sha(b"windows manifest"),
                     "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5830"}}]}
with open(os.path.join(OUT, "docker_manifest_list.json"), "wb") as f: f.write(json.dumps(dl, indent=3).encode())

# An artifact (a signature-like blob) referring to the amd64 manifest.
payload = b'{"critical":{"identity":{"docker-reference":"localhost:5000/bench/app"}}}'
art = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
       "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(b"{}"), "size": 2, "data": "e30="},
       "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": sha(payload), "size": len(payload),
                   "data": base64.b64encode(payload).decode()}],
       "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": index_entries[0]["digest"], "size": index_entries[0]["size"]},
       "annotations": {"org.opencontainers.image.created": "2025-05-20T10:12:00Z"}}
with open(os.path.join(OUT, "artifact_manifest.json"), "wb") as f: f.write(compact(art))
print("ok", idx_d)
