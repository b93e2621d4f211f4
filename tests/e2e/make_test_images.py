#!/usr/bin/env python3
"""Builds the e2e test images as OCI layouts, deterministically (same bytes every run).

    make_test_images.py OUT_DIR [CANARY_SUFFIX]

Writes one OCI layout per image under OUT_DIR (OUT_DIR/NAME, tag "1") and prints a JSON
object {NAME: {"layout": DIR, "diff_ids": [...], "chain_ids": [...]}} on stdout.

Images:
  features     3 layers (gzip, zstd, uncompressed) exercising what an unpacker must get right:
               (containerd-compatible, compared with containerd's rootfs)
               regular files (modes incl. setuid/setgid/sticky/0000, uid/gid, names that
               disagree with the numeric ids, fractional PAX mtimes, empty and 1 MiB files),
               dirs, symlinks (relative, absolute, dangling), hardlinks within a layer
               (pairs, a trio, one to a file with a capability; names of them deleted later), xattrs (user.* and
               security.capability, via PAX SCHILY.xattr records), a fifo, a PAX long name,
               whiteouts of files and of dirs, an opaque dir, a dir re-created after its
               whiteout, a file replaced by a dir and a dir replaced by a file, and metadata-only
               changes (mode, owner, mtime) of lower files and dirs.
  crosslinks   3 layers with hardlinks to files of lower layers (see crosslink_layers)
  hostile-dotdot    base layer + a layer with the entry "../escape"
  hostile-symlink   base layer + a layer with "evil -> /" then "evil/tmp/pwned-SUFFIX"
  hostile-hardlink  base layer + a layer with a hardlink "passwd" -> "/etc/passwd"
  hostile-linkabs   base layer + a layer with a hardlink to OUT_DIR/canary (an absolute host
                    path outside the snapshot) and then a regular file written at that name

Every layer lists the parent dirs of its entries explicitly (as docker/buildkit do), so the
directory mtimes are defined by the image and can be compared.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

EPOCH = 1747699200  # 2025-05-20T00:00:00Z
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}

# security.capability, VFS_CAP_REVISION_2 with the effective bit, permitted = cap_net_raw (13).
CAP_NET_RAW = (0x02000001).to_bytes(4, "little") + (1 << 13).to_bytes(4, "little") + bytes(12)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layer:
    """Tar entries in the given order (PAX format)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.meta = {}  # regular file name -> its attributes, for hardlink headers

    def _info(self, name, type_, mode, uid=0, gid=0, mtime=EPOCH, xattrs=None, uname="", gname=""):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname, ti.gname = uname, gname
        ti.mtime = mtime
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8") if isinstance(v, bytes) else v
                              for k, v in xattrs.items()}
        return ti

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name.rstrip("/") + "/", tarfile.DIRTYPE, mode, **kw))

    def file(self, name, data=b"", mode=0o644, **kw):
        self.meta[name] = dict(kw, mode=mode)
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target, **kw):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, **kw)
        ti.linkname = target
        self.tar.addfile(ti)

    def hardlink(self, name, target, mode=None, **kw):
        # As real tar writers do (GNU tar, Go's archive/tar in docker/buildkit), the link's
        # header repeats the inode's metadata and xattrs: containerd applies them to the inode.
        base = dict(self.meta.get(target, {}))
        base.update(kw)
        ti = self._info(name, tarfile.LNKTYPE, mode if mode is not None else base.pop("mode", 0o644), **base)
        ti.linkname = target
        self.tar.addfile(ti)

    def fifo(self, name, mode=0o644, **kw):
        self.tar.addfile(self._info(name, tarfile.FIFOTYPE, mode, **kw))

    def whiteout(self, path):
        d, base = os.path.split(path)
        self.file(os.path.join(d, ".wh." + base))

    def opaque(self, dir_):
        self.file(os.path.join(dir_, ".wh..wh..opq"))

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def compress(data, how):
    if how == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0, filename="") as g:
            g.write(data)
        return out.getvalue()
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "-c", "--no-check"], input=data,
                              stdout=subprocess.PIPE, check=True).stdout
    return data


def write_layout(out, name, layers):
    """layers: [(tar bytes, compression)]. Returns the image's info dict."""
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "blobs", "sha256"))

    def put(data):
        dg = sha(data)
        with open(os.path.join(d, "blobs", "sha256", dg[7:]), "wb") as f:
            f.write(data)
        return dg

    descs, diff_ids = [], []
    for tar, how in layers:
        diff_ids.append(sha(tar))
        blob = compress(tar, how)
        descs.append({"mediaType": MT_LAYER[how], "digest": put(blob), "size": len(blob)})
    created = "2025-05-20T00:00:00Z"
    config = json.dumps({
        "created": created, "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "e2e layer %d" % i} for i in range(len(layers))],
    }, separators=(",", ":"), sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": put(config), "size": len(config)},
        "layers": descs,
    }, separators=(",", ":"), sort_keys=True).encode()
    mdg = put(manifest)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": MT_MANIFEST, "digest": mdg, "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "1"}}]}, f, separators=(",", ":"))
    chain = [diff_ids[0]]
    for di in diff_ids[1:]:
        chain.append(sha((chain[-1] + " " + di).encode()))
    return {"layout": d, "manifest": mdg, "diff_ids": diff_ids, "chain_ids": chain}


def features_layers():
    t = 1700000000
    # Layer 1: the base.
    l1 = Layer()
    l1.dir("bin", mtime=t + 1)
    l1.file("bin/tool", b"#!/bin/sh\necho tool\n", mode=0o755, mtime=t + 2)
    l1.file("bin/ping", b"\x7fELF pretend ping\n", mode=0o755, mtime=t + 3,
            xattrs={"security.capability": CAP_NET_RAW})
    l1.file("bin/su", b"setuid root\n", mode=0o4755, mtime=t + 4)
    l1.file("bin/wall", b"setgid tty\n", mode=0o2755, gid=5, mtime=t + 5)
    l1.dir("data", mtime=t + 10)
    l1.file("data/a.txt", b"hardlinked content\n", mtime=t + 11)
    l1.hardlink("data/a-link.txt", "data/a.txt", mtime=t + 11)
    l1.file("data/big.bin", bytes((i * 7 + (i >> 8)) & 0xFF for i in range(1 << 20)), mtime=t + 12)
    l1.file("data/empty", b"", mtime=t + 13)
    l1.file("data/frac-mtime.txt", b"nanoseconds\n", mtime=1700000000.25)
    l1.file("data/gone.txt", b"deleted by layer 2\n", mtime=t + 14)
    l1.dir("data/gonedir", mtime=t + 15)
    l1.file("data/gonedir/inner.txt", b"deleted with its dir\n", mtime=t + 16)
    l1.dir("data/gonedir/sub", mtime=t + 17)
    l1.file("data/gonedir/sub/deep.txt", b"deep\n", mtime=t + 18)
    l1.file("data/mode0.txt", b"no permissions\n", mode=0o000, mtime=t + 19)
    l1.file("data/owned.txt", b"owned by 1000:1000\n", uid=1000, gid=1000, mtime=t + 20)
    l1.file("data/names-lie.txt", b"uname root but uid 4321\n", uid=4321, gid=4322,
            uname="root", gname="root", mtime=t + 21)
    l1.file("data/to-be-dir", b"a file that layer 2 replaces with a dir\n", mtime=t + 22)
    l1.dir("data/to-be-file", mtime=t + 23)
    l1.file("data/to-be-file/x", b"x\n", mtime=t + 24)
    l1.file("data/chmod-me.txt", b"layer 2 changes only my metadata\n", mtime=t + 25)
    l1.file("data/xattr.txt", b"xattrs\n", mtime=t + 26,
            xattrs={"user.test": "hello", "user.other": "x=y"})
    l1.fifo("data/fifo", mtime=t + 27)
    l1.dir("etc", mtime=t + 30)
    l1.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", mtime=t + 31)
    l1.symlink("etc/abs-link", "/etc/passwd", mtime=t + 32)
    l1.symlink("etc/rel-link", "../data/a.txt", mtime=t + 33)
    l1.symlink("etc/dangling", "/nonexistent/target", mtime=t + 34)
    l1.dir("opq", mtime=t + 40)
    l1.file("opq/old1.txt", b"hidden by the opaque dir\n", mtime=t + 41)
    l1.dir("opq/olddir", mtime=t + 42)
    l1.file("opq/olddir/f", b"hidden too\n", mtime=t + 43)
    l1.dir("private", mode=0o700, uid=1000, gid=1000, mtime=t + 50)
    l1.file("private/secret", b"s\n", mode=0o600, uid=1000, gid=1000, mtime=t + 51)
    l1.dir("tmp", mode=0o1777, mtime=t + 60)
    long_dir = "usr/share/" + "a-directory-name-long-enough-to-need-pax-" * 2
    l1.dir("usr", mtime=t + 70)
    l1.dir("usr/share", mtime=t + 71)
    l1.dir(long_dir, mtime=t + 72)
    l1.file(long_dir + "/" + "and-a-long-file-name-as-well-" * 3 + ".txt", b"long\n", mtime=t + 73)
    l1.symlink("lib", "usr/lib", mtime=t + 80)
    l1.dir("usr/lib", mtime=t + 81)
    l1.file("usr/lib/libx.so.1", b"lib\n", mtime=t + 82)

    # Layer 2: changes.
    t = 1710000000
    l2 = Layer()
    l2.dir("bin", mtime=t + 1)
    l2.file("bin/ping2", b"\x7fELF pretend ping 2\n", mode=0o755, mtime=t + 2,
            xattrs={"security.capability": CAP_NET_RAW})
    l2.hardlink("bin/ping2-link", "bin/ping2", mtime=t + 2)  # a link to a file with a capability
    l2.dir("data", mtime=t + 10)
    l2.file("data/trio-1.txt", b"three names\n", mtime=t + 11)
    l2.hardlink("data/trio-2.txt", "data/trio-1.txt", mtime=t + 11)
    l2.hardlink("data/trio-3.txt", "data/trio-1.txt", mtime=t + 11)
    l2.file("data/chmod-me.txt", b"layer 2 changes only my metadata\n", mode=0o600, uid=7, gid=8,
            mtime=t + 12)
    l2.whiteout("data/gone.txt")
    l2.whiteout("data/gonedir")
    l2.dir("data/to-be-dir", mtime=t + 13)
    l2.file("data/to-be-dir/inside", b"now a dir\n", mtime=t + 14)
    l2.file("data/to-be-file", b"now a file\n", mtime=t + 15)
    l2.file("data/new-in-2.txt", b"added by layer 2\n", mtime=t + 16,
            xattrs={"user.layer": "2"})
    l2.file("data/deleted-in-3.txt", b"layer 3 deletes me\n", mtime=t + 17)
    l2.dir("opq", mode=0o750, mtime=t + 20)
    l2.opaque("opq")
    l2.file("opq/new.txt", b"only this is visible in opq\n", mtime=t + 21)
    l2.dir("private", mode=0o700, uid=1000, gid=1000, mtime=t + 30)
    l2.whiteout("private/secret")
    l2.dir("usr", mtime=t + 40)
    l2.dir("usr/lib", mtime=t + 41)
    l2.file("usr/lib/libx.so.1", b"lib, version 2\n", mtime=t + 42)  # replaces; tests copy-up
    l2.symlink("usr/lib/libx.so", "libx.so.1", mtime=t + 43)

    # Layer 3: more changes on top of layer 2.
    t = 1720000000
    l3 = Layer()
    l3.dir("data", mode=0o711, mtime=t + 1)  # mode change of a lower dir
    l3.whiteout("data/trio-2.txt")  # one name of a layer-2 hardlink trio deleted
    l3.whiteout("data/a-link.txt")  # one name of a layer-1 hardlink pair deleted
    l3.whiteout("data/deleted-in-3.txt")
    l3.dir("data/gonedir", mode=0o755, mtime=t + 3)  # re-created after its whiteout in layer 2
    l3.file("data/gonedir/reborn.txt", b"new dir, old name\n", mtime=t + 4)
    l3.file("data/xattr.txt", b"xattrs, rewritten\n", mtime=t + 5,
            xattrs={"user.test": "changed"})
    l3.dir("etc", mtime=t + 10)
    l3.symlink("etc/rel-link", "../data/new-in-2.txt", mtime=t + 11)  # symlink replaced
    l3.whiteout("etc/dangling")
    l3.file("etc/hostname", b"e2e\n", mtime=t + 12)
    l3.dir("usr", mtime=t + 20)
    l3.dir("usr/share", mtime=t + 21)
    l3.opaque("usr/share")  # opaque dir whose lower has a deep subtree
    l3.file("usr/share/only.txt", b"opaque again\n", mtime=t + 22)
    return [(l1.bytes(), "gzip"), (l2.bytes(), "zstd"), (l3.bytes(), "none")]


def crosslink_layers():
    """Hardlinks whose target is in a lower layer. Docker/buildkit never produce these (a new
    name for a lower file ships the file's content again), and containerd 1.6 cannot apply them
    with the overlayfs snapshotter ("link .../snapshots/N/fs/TARGET ...: no such file or
    directory"), so this image is checked against Berth alone."""
    l1 = Layer()
    l1.dir("bin", mtime=EPOCH)
    l1.file("bin/ping", b"\x7fELF pretend ping\n", mode=0o4755, mtime=EPOCH + 1,
            xattrs={"security.capability": CAP_NET_RAW, "user.x": "1"})
    l1.dir("data", mtime=EPOCH)
    l1.file("data/a.txt", b"lower layer content\n", uid=12, gid=34, mtime=EPOCH + 2)
    l2 = Layer()
    l2.dir("bin", mtime=EPOCH + 10)
    ping = dict(mode=0o4755, mtime=EPOCH + 1, xattrs={"security.capability": CAP_NET_RAW, "user.x": "1"})
    a = dict(uid=12, gid=34, mtime=EPOCH + 2)
    l2.hardlink("bin/ping-link", "bin/ping", **ping)
    l2.dir("data", mtime=EPOCH + 10)
    l2.hardlink("data/a-cross.txt", "data/a.txt", **a)
    l3 = Layer()
    l3.dir("data", mtime=EPOCH + 20)
    l3.hardlink("data/a-cross2.txt", "data/a-cross.txt", **a)  # to a layer-2 link
    return [(l1.bytes(), "gzip"), (l2.bytes(), "gzip"), (l3.bytes(), "gzip")]


def base_layer():
    l = Layer()
    l.dir("etc", mtime=EPOCH)
    l.file("etc/os-release", b"ID=e2e\n", mtime=EPOCH)
    l.dir("tmp", mode=0o1777, mtime=EPOCH)
    return (l.bytes(), "gzip")


def runnable_layers():
    """The host's dash and the libraries it loads: enough for a container to
    run `/bin/sh -c ...` (the peers' Debian image is not always at hand)."""
    l = Layer()
    dash = os.path.realpath(shutil.which("dash") or "/bin/sh")
    paths = [dash]
    ldd = subprocess.run(["ldd", dash], stdout=subprocess.PIPE, check=True, text=True).stdout
    for line in ldd.splitlines():
        for word in line.split():
            if word.startswith("/"):
                paths.append(word)
    made = set()
    for path in sorted(set(paths)):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                made.add(d)
                l.dir(d)
        with open(path, "rb") as f:
            l.file("/".join(parts), f.read(), mode=0o755)
    if "bin" not in made:
        l.dir("bin")
    l.symlink("bin/sh", "/" + dash.strip("/"))
    return [base_layer(), (l.bytes(), "gzip")]


def hostile_layers(out, suffix):
    imgs = {}
    l = Layer()
    l.file("ok.txt", b"fine\n")
    l.file("../escape", b"escaped\n")
    imgs["hostile-dotdot"] = [base_layer(), (l.bytes(), "gzip")]

    l = Layer()
    l.symlink("evil", "/")
    l.file("evil/tmp/pwned-" + suffix, b"pwned\n")
    imgs["hostile-symlink"] = [base_layer(), (l.bytes(), "gzip")]

    l = Layer()
    l.hardlink("passwd", "/etc/passwd")
    imgs["hostile-hardlink"] = [base_layer(), (l.bytes(), "gzip")]

    canary = os.path.join(os.path.abspath(out), "canary")
    l = Layer()
    l.hardlink("link-out", canary)
    l.file("link-out", b"overwritten through a hardlink\n")
    imgs["hostile-linkabs"] = [base_layer(), (l.bytes(), "gzip")]
    return imgs


def main():
    out = sys.argv[1]
    suffix = sys.argv[2] if len(sys.argv) > 2 else "canary"
    os.makedirs(out, exist_ok=True)
    info = {"features": write_layout(out, "features", features_layers()),
            "crosslinks": write_layout(out, "crosslinks", crosslink_layers()),
            "runnable": write_layout(out, "runnable", runnable_layers())}
    for name, layers in hostile_layers(out, suffix).items():
        info[name] = write_layout(out, name, layers)
    json.dump(info, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
